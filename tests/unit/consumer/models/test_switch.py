"""Swaps happen between batches only; a swapped-in champion scores the whole next batch, resets
the drift monitors and the label join; a challenger is shadow-scored and compared."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
from consumer_fakes import FakeMessage, FakePositions, RecordingSink, encode, event
from prometheus_client import CollectorRegistry

from consumer.drift.join import LabelJoin
from consumer.edge.lag import LagTracker
from consumer.loop.processor import BatchProcessor
from consumer.models import ModelComparison, ModelMetrics, ModelSlot, ModelSwitch, Offer
from consumer.models.shadow import ShadowScoring, WindowMAE
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.scoring import Scorer
from consumer.settings import ConsumerSettings


class Constant:
    """A pipeline that prices every diamond at `price`."""

    def __init__(self, price: float) -> None:
        self.price = price

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), self.price)


@dataclass
class Model:
    pipeline: Any
    version: str
    model_type: str = "const"
    sha256: str = "0" * 64
    profile: Any = None


@dataclass
class Champions:
    seen: list[str] = field(default_factory=list)

    def __call__(self, offer: Offer) -> None:
        self.seen.append(offer.model.version)


def messages(first: int, n: int) -> list[FakeMessage]:
    return [FakeMessage(encode(event(event_id=f"e{i}")), _offset=i, _key=f"k{i}".encode())
            for i in range(first, first + n)]


def make(with_comparison: bool = True):
    registry = CollectorRegistry()
    metrics = ModelMetrics(registry)
    service = ConsumerMetrics(registry)
    comparison = ModelComparison(
        metrics, window=4,
        new_join=lambda: LabelJoin(cache_size=100, ttl=60, pending_size=100, pending_wait=60),
    ) if with_comparison else None
    shadow = ShadowScoring(metrics, comparison)
    slot = ModelSlot()
    champions = Champions()
    switch = ModelSwitch(slot, metrics, new_scorer=Scorer, on_champion=champions,
                         shadow=shadow, comparison=comparison)
    sink = RecordingSink()
    processor = BatchProcessor(
        ConsumerSettings(input_topic="in", output_topic="out", dlq_topic="dlq", group_id="g"),
        scorer=Scorer(Model(Constant(100.0), "m1")), sink=sink, consumer=FakePositions(),
        metrics=service, lag=LagTracker(None, "g", service, 5.0), observers=[shadow],
        models=switch,
    )
    return processor, slot, sink, shadow, comparison, champions, registry.get_sample_value


def versions(sink: RecordingSink, batch: int) -> set[str]:
    return {orjson.loads(r.value or b"")["model_version"] for r in sink.batches[batch][0]}


def offer(alias: str, model: Any) -> Offer:
    return Offer(alias, model, None, time.monotonic())


def test_a_champion_offered_mid_stream_scores_the_whole_next_batch() -> None:
    processor, slot, sink, _, _, champions, value = make()
    processor.process(messages(0, 3))
    slot.offer(offer("champion", Model(Constant(200.0), "m2")))
    processor.process(messages(3, 3))
    assert versions(sink, 0) == {"m1"} and versions(sink, 1) == {"m2"}
    prices = [orjson.loads(r.value or b"")["predicted_price"] for r in sink.batches[1][0]]
    assert prices == [200.0, 200.0, 200.0]
    assert champions.seen == ["m2"]
    assert value("diamond_model_swaps_total", {"alias": "champion"}) == 1
    # offsets are untouched: the second batch commits right after the first
    assert [tp.offset for tp in sink.batches[1][2]] == [6]


def test_the_scorer_prepared_off_the_hot_path_is_used() -> None:
    processor, slot, *_ = make()
    model = Model(Constant(300.0), "m3")
    prepared = Scorer(model)

    class Prepared:
        scorer = prepared

    slot.offer(Offer("champion", model, None, time.monotonic(), Prepared()))
    processor.idle()
    assert processor.scorer is prepared


def test_an_idle_poll_swaps_too() -> None:
    processor, slot, *_ = make()
    slot.offer(offer("champion", Model(Constant(200.0), "m2")))
    processor.idle()
    assert processor.scorer.version == "m2"


def test_a_withdrawn_champion_keeps_serving() -> None:
    processor, slot, sink, *_ = make()
    slot.offer(offer("champion", None))
    processor.process(messages(0, 2))
    assert versions(sink, 0) == {"m1"}


def test_the_challenger_is_shadow_scored_never_published() -> None:
    processor, slot, sink, shadow, comparison, _, value = make()
    slot.offer(offer("challenger", Model(Constant(150.0), "c1")))
    processor.process(messages(0, 4))
    assert versions(sink, 0) == {"m1"}  # the predictions topic carries the champion's only
    assert shadow.version == "c1"
    assert value("diamond_model_challenger", {"version": "c1"}) == 1
    assert value("diamond_shadow_scoring_seconds_count") == 1
    # the labels reach both windows: truth 140 -> champion |140-100| = 40, challenger 10
    assert comparison is not None and comparison.join is not None
    ids = [f"e{i}" for i in range(4)]
    comparison.on_labels(ids, [140.0] * 4, [0] * 4, [0] * 4)
    comparison.on_matched(np.full(4, 140.0), np.full(4, 100.0))
    comparison.after_batch()
    assert value("diamond_concept_window_mae", {"model": "champion"}) == 40.0
    assert value("diamond_concept_window_mae", {"model": "challenger"}) == 10.0
    assert value("diamond_concept_window_labels", {"model": "challenger"}) == 4
    # promoted: the champion is now c1, and the shadow stops
    slot.offer(offer("champion", Model(Constant(150.0), "c1")))
    processor.process(messages(4, 2))
    assert versions(sink, 1) == {"c1"} and shadow.version is None
    assert value("diamond_model_challenger", {"version": "c1"}) is None
    assert value("diamond_concept_window_mae", {"model": "challenger"}) is None
    assert value("diamond_concept_window_labels", {"model": "champion"}) == 0  # starts over


def test_a_failing_challenger_costs_nothing_but_a_count() -> None:
    class Broken:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            raise RuntimeError("boom")

    processor, slot, sink, _, _, _, value = make()
    slot.offer(offer("challenger", Model(Broken(), "bad")))
    result = processor.process(messages(0, 3))
    assert result.predictions == 3 and versions(sink, 0) == {"m1"}
    assert value("diamond_shadow_scoring_failures_total") == 1


def test_window_mae_keeps_the_last_pairs() -> None:
    window = WindowMAE(3)
    assert np.isnan(window.value)
    window.add(np.array([10.0, 10.0]), np.array([0.0, 0.0]))
    window.add(np.array([1.0, 2.0, np.nan]), np.array([0.0, 0.0, 0.0]))
    assert window.n == 3 and window.value == (10 + 1 + 2) / 3
    window.add(np.arange(10.0), np.zeros(10))  # more than the window at once: the last 3
    assert window.value == (7 + 8 + 9) / 3
