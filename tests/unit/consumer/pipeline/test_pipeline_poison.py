"""Issue 12: no record can stop a partition, in the pure pipeline.

Keys and headers are input (point 1), event times beyond now + the tolerance are dead-lettered
(point 9), a model failure on some events dead-letters only those (point 11), and an output
record over the producer's limit, or one the broker refused before, becomes a dead letter, its
minimal form when even that does not fit (point 1)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from consumer_fakes import FakeMessage, encode, event

from common.contracts.dead_letters import PAYLOAD_HEADER
from consumer.pipeline import PipelineConfig, Scorer, transform
from consumer.pipeline.envelope import EnvelopeLimits, check_headers, check_key
from consumer.pipeline.records import OutRecord, record_size, source_of
from consumer.pipeline.scoring import predict_isolating
from consumer.pipeline.transform import producer_max_bytes
from consumer.settings import ConsumerSettings
from tests.samples import StubModel

NOW = 1_767_225_600.0  # the clock of these tests: 2026-01-01 00:00:00 UTC (GOOD's event_time)
CONFIG = PipelineConfig(input_topic="in", output_topic="out", dlq_topic="dlq", group_id="g",
                        max_event_bytes=4096)


def run(messages: list[FakeMessage], model: Any, config: PipelineConfig = CONFIG,
        refused: dict[tuple[str | None, int, int], int] | None = None) -> Any:
    return transform(messages, scorer=Scorer(model), config=config, clock=lambda: NOW,
                     refused=refused)


def good(i: int, **changes: Any) -> FakeMessage:
    fields = {"event_id": f"e{i}", "carat": 0.3 + i / 10, **changes}
    return FakeMessage(encode(event(**fields)), _offset=i, _key=f"k{i}".encode())


def reasons(out: Any) -> list[tuple[int | None, str]]:
    return [(msg.offset(), r.reason) for msg, r in out.rejected]


def headers_of(record: OutRecord) -> dict[str, Any]:
    return dict(record.headers or [])


# -- point 1: keys and headers ------------------------------------------------------------------

def test_an_oversize_key_is_dead_lettered_with_the_key_cut_and_the_rest_is_scored(
        tiny_model) -> None:
    big = FakeMessage(encode(event(event_id="big")), _offset=1, _key=b"K" * 999_780)
    out = run([good(0), big, good(2)], tiny_model)
    assert [orjson.loads(r.value or b"")["event_id"] for r in out.outputs] == ["e0", "e2"]
    assert reasons(out) == [(1, "invalid_key")]
    (dead,) = out.dead_letters
    assert dead.key == b"K" * CONFIG.max_key_bytes
    headers = headers_of(dead)
    assert headers["dlq.reason"] == b"invalid_key"
    assert headers["dlq.key.truncated"] == b"true"
    assert headers["dlq.key.original.size"] == b"999780"
    assert dead.value == big.value()  # the event itself is kept
    assert record_size(dead) <= CONFIG.max_record_bytes


@pytest.mark.parametrize("key", [b"\xff\xfe", b"caf\xe9", b"ok\xc3("])
def test_a_key_that_is_not_utf8_is_dead_lettered(tiny_model, key: bytes) -> None:
    out = run([good(0), FakeMessage(encode(event()), _offset=1, _key=key)], tiny_model)
    assert reasons(out) == [(1, "invalid_key")]
    assert out.dead_letters[0].key == key  # short: kept whole
    assert len(out.outputs) == 1


def test_keys_at_the_limit_utf8_and_none_are_fine() -> None:
    limits = EnvelopeLimits(max_key_bytes=8)
    for key in (None, b"", b"12345678", "caf\u00e9".encode()):
        assert check_key(key, limits) is None, key
    rejected = check_key(b"123456789", limits)
    assert rejected is not None and "9 bytes, the limit is 8" in rejected.error


def test_header_count_and_size_are_bounded(tiny_model) -> None:
    limits = EnvelopeLimits(max_headers=3, max_header_bytes=20)
    assert check_headers(None, limits) is None and check_headers([], limits) is None
    assert check_headers([("a", b"1"), ("b", None), ("c", "x")], limits) is None
    count = check_headers([("h", b"v")] * 4, limits)
    assert count is not None and count.reason == "invalid_headers" and "4 headers" in count.error
    size = check_headers([("big", b"x" * 18)], limits)
    assert size is not None and "21 bytes" in size.error
    thousand = FakeMessage(encode(event()), _offset=1, _headers=[("h", b"v")] * 1000)
    out = run([good(0), thousand, good(2)], tiny_model)
    assert reasons(out) == [(1, "invalid_headers")] and len(out.outputs) == 2
    assert "1000 headers, the limit is 64" in headers_of(out.dead_letters[0])["dlq.error"].decode()


def test_the_limits_come_from_the_settings() -> None:
    settings = ConsumerSettings(max_key_bytes=100, max_headers=5, max_header_bytes=300,
                                event_time_tolerance=60,
                                kafka_config={"message.max.bytes": "200000"})
    config = PipelineConfig.from_settings(settings)
    assert (config.max_key_bytes, config.max_headers, config.max_header_bytes) == (100, 5, 300)
    assert (config.event_time_tolerance, config.max_record_bytes) == (60, 200_000)
    assert producer_max_bytes({}) == 1_000_000


# -- point 9: event times in the future -------------------------------------------------------

def test_event_times_beyond_now_plus_the_tolerance_are_dead_lettered(tiny_model) -> None:
    hour = 3_600_000
    now_ms = int(NOW * 1000)
    messages = [good(0, event_time=now_ms + hour),  # at the tolerance: fine
                good(1, event_time=now_ms + hour + 1),
                good(2, event_time=4_070_908_800_000),  # 2099: inside the schema's bounds
                good(3)]
    out = run(messages, tiny_model)
    assert reasons(out) == [(1, "invalid_event_time"), (2, "invalid_event_time")]
    assert out.batch.meta.event_ids == ["e0", "e3"] and len(out.outputs) == 2
    assert "beyond the tolerated future" in headers_of(out.dead_letters[0])["dlq.error"].decode()
    strict = PipelineConfig("in", "out", "dlq", "g", 4096, event_time_tolerance=0)
    assert reasons(run(messages, tiny_model, strict)) == [(0, "invalid_event_time"),
                                                           (1, "invalid_event_time"),
                                                           (2, "invalid_event_time")]


# -- point 11: scoring failures ---------------------------------------------------------------

class FailsOnHeavy:
    """A model that raises for any batch holding a stone over 2 carat."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        if (frame["carat"] > 2).any():
            raise ValueError("cannot price a heavy stone")
        return self.inner.predict(frame)


class NanOnHeavy:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.asarray(self.inner.predict(frame), dtype=np.float64)
        out[(frame["carat"] > 2).to_numpy()] = np.nan
        return out


@pytest.mark.parametrize("wrapper", [FailsOnHeavy, NanOnHeavy])
def test_a_scoring_error_dead_letters_only_the_events_that_fail(tiny_model, wrapper) -> None:
    model = dataclasses.replace(tiny_model, pipeline=wrapper(tiny_model.pipeline))
    messages = [good(i, carat=2.5 if i in (3, 6) else 0.5 + i / 10) for i in range(10)]
    out = run(messages, model)
    assert reasons(out) == [(3, "scoring_failed"), (6, "scoring_failed")]
    scored = [i for i in range(10) if i not in (3, 6)]
    assert out.batch.meta.event_ids == [f"e{i}" for i in scored]
    expected = tiny_model.pipeline.predict(
        run([messages[i] for i in scored], tiny_model).batch.features)
    assert out.predictions.tolist() == expected.tolist()  # aligned with their events
    bodies = [orjson.loads(r.value or b"") for r in out.outputs]
    assert [b["source_offset"] for b in bodies] == scored
    assert all(b"model hgb-test" in headers_of(d)["dlq.error"] for d in out.dead_letters)


def test_bisection_costs_one_predict_when_the_batch_scores(tiny_model) -> None:
    model = FailsOnHeavy(tiny_model.pipeline)
    scorer = Scorer(StubModel(model), threads=None)
    frame = run([good(i) for i in range(8)], tiny_model).batch.features
    predictions, rows, failed = predict_isolating(scorer, frame)
    assert (model.calls, rows.tolist(), failed) == (1, list(range(8)), [])
    frame.loc[5, "carat"] = 3.0
    model.calls = 0
    predictions, rows, failed = predict_isolating(scorer, frame)
    assert rows.tolist() == [0, 1, 2, 3, 4, 6, 7] and [r for r, _ in failed] == [5]
    assert len(predictions) == 7 and model.calls <= 2 * 3 + 1  # log2(8) levels, two halves each


# -- point 1: output records over the producer's limit, refused records ------------------------

def test_a_prediction_over_the_producer_limit_becomes_an_output_rejected_dead_letter(
        tiny_model) -> None:
    config = PipelineConfig("in", "out", "dlq", "g", 4096, max_key_bytes=10_000,
                            max_record_bytes=3_000)
    big = FakeMessage(encode(event(event_id="big")), _offset=1, _key=b"K" * 2_600)
    out = run([good(0), big, good(2)], tiny_model, config)
    assert [orjson.loads(r.value or b"")["event_id"] for r in out.outputs] == ["e0", "e2"]
    assert reasons(out) == [(1, "output_rejected")]
    assert out.batch.meta.event_ids == ["e0", "e2"] and len(out.predictions) == 2
    (dead,) = out.dead_letters  # its key does not fit either: the minimal form
    assert record_size(dead) <= config.max_record_bytes
    assert (dead.key, dead.value, headers_of(dead)[PAYLOAD_HEADER]) == (None, None, b"dropped")
    assert b"over the producer's message.max.bytes 3000" in headers_of(dead)["dlq.error"]
    assert all(record_size(r) <= config.max_record_bytes for r in out.outputs)
    roomy = PipelineConfig("in", "out", "dlq", "g", 4096, max_key_bytes=10_000,
                           max_record_bytes=4_000)  # room for the dead letter, not the key cut
    assert run([big], tiny_model, roomy).outputs  # the prediction fits 4000


def test_a_dead_letter_over_the_limit_becomes_a_minimal_one(tiny_model) -> None:
    config = PipelineConfig("in", "out", "dlq", "g", 4096, max_record_bytes=2_000)
    huge = FakeMessage(b"x" * 3_000, _offset=4, _partition=2, _key=b"k")
    out = run([huge, good(5)], tiny_model, config)
    assert reasons(out) == [(4, "not_json")] and len(out.outputs) == 1
    (dead,) = out.dead_letters
    headers = headers_of(dead)
    assert (dead.key, dead.value, headers[PAYLOAD_HEADER]) == (None, None, b"dropped")
    assert headers["dlq.reason"] == b"not_json"
    assert (headers["dlq.source.topic"], headers["dlq.source.partition"],
            headers["dlq.source.offset"]) == (b"in", b"2", b"4")


def test_a_refused_output_is_dead_lettered_on_the_retry_then_minimal(tiny_model) -> None:
    messages = [good(0), good(1), FakeMessage(b"{", _offset=2, _key=b"k2")]
    once = run(messages, tiny_model, refused={("in", 0, 1): 1})
    assert reasons(once) == [(1, "output_rejected"), (2, "not_json")]
    assert [orjson.loads(r.value or b"")["event_id"] for r in once.outputs] == ["e0"]
    assert [headers_of(d).get(PAYLOAD_HEADER) for d in once.dead_letters] == [None, None]
    assert once.dead_letters[0].value == messages[1].value()
    twice = run(messages, tiny_model, refused={("in", 0, 1): 2, ("in", 0, 2): 1})
    assert reasons(twice) == [(1, "output_rejected"), (2, "not_json")]
    assert [headers_of(d).get(PAYLOAD_HEADER) for d in twice.dead_letters] == [b"dropped"] * 2
    assert len(twice.outputs) == 1


def test_source_of_reads_the_event_back_from_either_output(tiny_model) -> None:
    out = run([good(0), FakeMessage(b"{", _offset=7, _partition=1, _topic="in")], tiny_model)
    assert source_of(out.outputs[0].value, out.outputs[0].headers) == (None, 0, 0)
    dead = out.dead_letters[0]
    assert source_of(dead.value, dead.headers) == ("in", 1, 7)
    as_str = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in dead.headers or []]
    assert source_of(None, dict(as_str)) == ("in", 1, 7)
    assert source_of(b"not json", None) is None and source_of(None, [("x", b"1")]) is None
