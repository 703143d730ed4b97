"""Bench's ceiling goes through the consumer's public pipeline function, batch by batch."""

from __future__ import annotations

from typing import Any

import orjson
import pandas as pd
import pytest

import bench.inprocess as inprocess
from consumer.pipeline import BatchOutcome, transform
from tests.samples import StubModel, event


class CaratPricer:
    """A stand-in pipeline: no preprocessing to compile, price = 1000 * carat."""

    def predict(self, frame: pd.DataFrame) -> Any:
        return frame["carat"].to_numpy() * 1000.0


def values(n: int) -> list[bytes]:
    return [b"{broken" if i == 6 else orjson.dumps(event(event_id=f"e-{i}", carat=0.5 + i / 10))
            for i in range(n)]


def test_the_ceiling_transforms_every_batch_through_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes: list[BatchOutcome] = []

    def spy(messages: Any, **kwargs: Any) -> BatchOutcome:
        outcome = transform(messages, **kwargs)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(inprocess, "transform", spy)
    n = 10
    eps = inprocess.ceiling([f"k{i}".encode() for i in range(n)], values(n),
                            StubModel(CaratPricer()), batch_size=4, max_event_bytes=4096)
    assert eps > 0
    assert [len(o.outputs) + len(o.dead_letters) for o in outcomes] == [4, 4, 2]
    assert sum(len(o.dead_letters) for o in outcomes) == 1
    first = orjson.loads(outcomes[0].outputs[0].value or b"")
    assert (first["event_id"], first["predicted_price"], first["model_version"]) == (
        "e-0", 500.0, "stub-1"
    )
    assert {r.topic for o in outcomes for r in o.outputs} == {"bench.out"}
    assert {r.topic for o in outcomes for r in o.dead_letters} == {"bench.dlq"}
