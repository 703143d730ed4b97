"""One batch end to end without Kafka: decode, score, outputs, offsets, metrics, observers."""

from __future__ import annotations

import logging

import numpy as np
import orjson
import pandas as pd
import pytest
from consumer_fakes import FakeMessage, FakePositions, RecordingSink, encode, event, mixed_batch
from prometheus_client import CollectorRegistry

from consumer.edge.lag import LagTracker
from consumer.edge.offsets import first_offsets
from consumer.exceptions import DeliveryError
from consumer.loop.processor import BatchProcessor
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.batch import BatchMeta
from consumer.pipeline.scoring import Scorer
from consumer.settings import ConsumerSettings
from tests.samples import StubModel


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[pd.DataFrame, np.ndarray, BatchMeta]] = []

    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        self.calls.append((features, predictions, meta))


class Broken:
    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        raise RuntimeError("observer bug")


def make(tiny_model, observers=(), fail=None):
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    positions = FakePositions()
    sink = RecordingSink(fail=fail)
    settings = ConsumerSettings(input_topic="in", output_topic="out", dlq_topic="dlq", group_id="g")
    processor = BatchProcessor(
        settings, scorer=Scorer(tiny_model), sink=sink, consumer=positions, metrics=metrics,
        lag=LagTracker(None, "g", metrics, 5.0), observers=observers,
    )
    return processor, sink, registry, positions


def test_mixed_batch(tiny_model, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    processor, sink, registry, positions = make(tiny_model, [recorder, Broken()])
    messages = mixed_batch()
    with caplog.at_level(logging.WARNING):
        result = processor.process(messages)
    assert (result.consumed, result.predictions, result.dead_lettered, result.committed) == (
        5, 3, 2, True
    )
    outputs, dlq, offsets = sink.batches[0]
    bodies = [orjson.loads(r.value or b"") for r in outputs]
    assert [b["event_id"] for b in bodies] == ["g0", "g1", "g2"]
    assert [r.key for r in outputs] == [b"k0", b"k2", b"k4"]
    assert [(b["source_partition"], b["source_offset"]) for b in bodies] == [
        (0, 100), (0, 101), (0, 102)
    ]
    assert [dict(r.headers or [])["dlq.reason"] for r in dlq] == [b"not_json", b"unknown_category"]
    assert [(tp.topic, tp.partition, tp.offset) for tp in offsets] == [
        ("in", 0, 103), ("in", 1, 102)
    ]
    # predictions are the model's, in order
    features, predictions, meta = recorder.calls[0]
    assert meta.event_ids == ["g0", "g1", "g2"]
    assert np.allclose(predictions, tiny_model.pipeline.predict(features))
    assert [b["predicted_price"] for b in bodies] == pytest.approx(predictions.tolist())
    # metrics
    value = registry.get_sample_value
    assert value("diamond_events_consumed_total") == 5
    assert value("diamond_predictions_published_total") == 3
    assert value("diamond_dlq_published_total") == 2
    assert value("diamond_invalid_events_total", {"reason": "not_json"}) == 1
    assert value("diamond_invalid_events_total", {"reason": "unknown_category"}) == 1
    assert value("diamond_batches_total") == 1
    assert value("diamond_batch_size_sum") == 5
    assert value("diamond_end_to_end_latency_seconds_count") == 3
    assert value("diamond_observer_errors_total", {"observer": "Broken"}) == 1
    assert value("diamond_committed_offset", {"topic": "in", "partition": "1"}) == 102
    # per-message failures are logged with their coordinates
    assert "in[1]@100" in caplog.text and "observer Broken failed" in caplog.text


def test_position_past_transaction_markers_is_used(tiny_model) -> None:
    processor, sink, _, positions = make(tiny_model)
    positions.positions[("in", 0)] = 110  # librdkafka stepped over a commit marker
    processor.process(mixed_batch())
    offsets = {(tp.partition): tp.offset for tp in sink.batches[0][2]}
    assert offsets == {0: 110, 1: 102}


def test_failed_write_counts_nothing_and_observes_nothing(tiny_model) -> None:
    recorder = Recorder()
    processor, _, registry, _ = make(tiny_model, [recorder], fail=DeliveryError("broker said no"))
    with pytest.raises(DeliveryError):
        processor.process(mixed_batch())
    assert registry.get_sample_value("diamond_events_consumed_total") == 0
    assert registry.get_sample_value("diamond_invalid_events_total", {"reason": "not_json"}) == 0
    assert recorder.calls == []


def test_all_invalid_batch_still_commits(tiny_model) -> None:
    processor, sink, registry, _ = make(tiny_model)
    result = processor.process([FakeMessage(b"[]", _offset=5), FakeMessage(b"x", _offset=6)])
    assert (result.predictions, result.dead_lettered) == (0, 2)
    assert [tp.offset for tp in sink.batches[0][2]] == [7]
    assert registry.get_sample_value("diamond_end_to_end_latency_seconds_count") == 0


def test_first_offsets_per_partition() -> None:
    assert first_offsets(mixed_batch()) == {("in", 0): 100, ("in", 1): 100}


class _ExplodingPipeline:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise ValueError("boom")


class _ShortPipeline:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(frame) - 1)


@pytest.mark.parametrize(("pipeline", "match"), [
    (_ExplodingPipeline(), "failed on a batch of 1 valid events: ValueError: boom"),
    (_ShortPipeline(), "returned 0 predictions for 1 events"),
])
def test_scoring_errors_are_explicit_dead_letters_not_a_crash(pipeline, match: str) -> None:
    """Issue 12, point 11: a model that fails on every event dead-letters each of them as
    scoring_failed with the model's own words, and the batch commits (no crash loop)."""

    processor, sink, registry, _ = make(StubModel(pipeline))
    result = processor.process(mixed_batch())
    assert (result.predictions, result.dead_lettered, result.committed) == (0, 5, True)
    outputs, dlq, _ = sink.batches[0]
    assert outputs == []
    headers = [dict(r.headers or []) for r in dlq]
    assert [h["dlq.reason"] for h in headers] == [
        b"scoring_failed", b"not_json", b"scoring_failed", b"unknown_category", b"scoring_failed"]
    assert all(match in h["dlq.error"].decode() for h in headers[::2]), headers
    assert registry.get_sample_value(
        "diamond_invalid_events_total", {"reason": "scoring_failed"}) == 3


def test_a_refused_output_is_dead_lettered_by_the_retry_and_then_forgotten(tiny_model) -> None:
    """Issue 12, point 1: the sink names the event whose record was refused; the retried batch
    dead-letters it (output_rejected) instead of producing it again, and commits."""
    from consumer.edge.delivery import OutputRejectedError

    refused = OutputRejectedError("refused", {(None, 0, 101): "MSG_SIZE_TOO_LARGE: too large"})
    processor, sink, registry, _ = make(tiny_model, fail=refused)
    with pytest.raises(OutputRejectedError):
        processor.process(mixed_batch())
    assert processor.refused == {("in", 0, 101): 1}
    sink.fail = None
    result = processor.process(mixed_batch())
    assert (result.predictions, result.dead_lettered, result.committed) == (2, 3, True)
    outputs, dlq, _ = sink.batches[0]
    assert [orjson.loads(r.value or b"")["event_id"] for r in outputs] == ["g0", "g2"]
    assert [dict(r.headers or [])["dlq.reason"] for r in dlq] == [
        b"not_json", b"output_rejected", b"unknown_category"]
    assert processor.refused == {}  # written: forgotten
    assert registry.get_sample_value(
        "diamond_invalid_events_total", {"reason": "output_rejected"}) == 1


def test_latency_is_never_negative(tiny_model) -> None:
    """Issue 12, point 9: an event_time ahead of the clock (within the tolerance) observes 0."""
    import time

    ahead = int((time.time() + 1800) * 1000)  # 30 min ahead: accepted, not a negative latency
    processor, _, registry, _ = make(tiny_model)
    processor.process([FakeMessage(encode(event(event_time=ahead)), _offset=1)])
    assert registry.get_sample_value("diamond_end_to_end_latency_seconds_count") == 1
    assert registry.get_sample_value("diamond_end_to_end_latency_seconds_sum") == 0.0
