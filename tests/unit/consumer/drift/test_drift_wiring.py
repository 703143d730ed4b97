"""Drift wiring without a broker: the settings and flags, the observer built from them, and the
batch processor routing label messages to the label handler (never to scoring or the DLQ), and
the loop's flow control pausing the labels topic when the handler asks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pytest
from confluent_kafka import TopicPartition
from consumer_fakes import FakeMessage, FakeModel, FakePositions, RecordingSink, encode, event
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from pydantic_settings import CliApp
from test_drift_observer import diamonds, price

from consumer.__main__ import cli_args
from consumer.drift import DriftObserver, ReportPublisher, build_drift_observer
from consumer.drift.build import check_copartitioned
from consumer.edge.lag import LagTracker
from consumer.exceptions import DeliveryError
from consumer.loop.flow import LabelFlow
from consumer.loop.processor import BatchProcessor
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.scoring import Scorer
from consumer.settings import ConsumerSettings
from drift import ReferenceProfile
from model.features import CATEGORIES, NUMERIC_FEATURES

# ------------------------------------------------------------------------------------ settings

NEW_SETTINGS = {
    "drift_enabled": True, "drift_gamma": 3e9, "drift_clear_gamma": 1e6, "drift_tolerance": 4.0,
    "drift_eval_interval": 5.0, "drift_eval_every": 5000, "drift_eval_max_share": 0.01,
    "labels_topic": "diamonds.labels", "drift_reports_topic": "diamonds.drift-reports",
    "label_cache_size": 200_000, "label_cache_ttl": 600.0, "label_pending_size": 50_000,
    "label_pending_wait": 60.0,
}


def test_defaults() -> None:
    settings = ConsumerSettings()
    assert {name: getattr(settings, name) for name in NEW_SETTINGS} == NEW_SETTINGS
    assert settings.label_join
    assert settings.topics_to_create == (
        "diamonds.predictions", "diamonds.dlq", "diamonds.labels", "diamonds.drift-reports"
    )


def test_env_and_flags_give_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = [
        "--no-drift", "--drift-gamma", "1e6", "--drift-clear-gamma", "1e4",
        "--drift-tolerance", "2", "--drift-eval-interval", "1",
        "--drift-eval-every", "1000", "--drift-eval-max-share", "1",
        "--labels-topic", "lab", "--drift-reports-topic", "rep", "--label-cache-size", "10",
        "--label-cache-ttl", "30", "--label-pending-size", "5", "--label-pending-wait", "2",
    ]
    from_flags = CliApp.run(ConsumerSettings, cli_args=cli_args(flags))
    env = {
        "CONSUMER_DRIFT_ENABLED": "false", "CONSUMER_DRIFT_GAMMA": "1e6",
        "CONSUMER_DRIFT_CLEAR_GAMMA": "1e4", "CONSUMER_DRIFT_TOLERANCE": "2",
        "CONSUMER_DRIFT_EVAL_INTERVAL": "1", "CONSUMER_DRIFT_EVAL_EVERY": "1000",
        "CONSUMER_DRIFT_EVAL_MAX_SHARE": "1",
        "CONSUMER_LABELS_TOPIC": "lab", "CONSUMER_DRIFT_REPORTS_TOPIC": "rep",
        "CONSUMER_LABEL_CACHE_SIZE": "10", "CONSUMER_LABEL_CACHE_TTL": "30",
        "CONSUMER_LABEL_PENDING_SIZE": "5", "CONSUMER_LABEL_PENDING_WAIT": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert ConsumerSettings() == from_flags
    assert (from_flags.drift_gamma, from_flags.drift_clear_gamma) == (1e6, 1e4)
    assert not from_flags.drift_enabled and not from_flags.label_join
    assert from_flags.topics_to_create == ("diamonds.predictions", "diamonds.dlq")


def test_drift_flag_spellings() -> None:
    run = CliApp.run
    assert run(ConsumerSettings, cli_args=cli_args(["--drift"])).drift_enabled
    assert not run(ConsumerSettings, cli_args=cli_args(["--no-drift-enabled"])).drift_enabled
    assert not run(ConsumerSettings, cli_args=cli_args(["--labels-topic", ""])).label_join


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"labels_topic": "diamonds.events"}, "labels_topic 'diamonds.events' must differ"),
        ({"drift_reports_topic": "diamonds.dlq"}, "drift_reports_topic 'diamonds.dlq' must"),
        ({"labels_topic": "x", "drift_reports_topic": "x"}, "both 'x'"),
        ({"drift_gamma": 1.0}, "greater than 1"),
        ({"drift_clear_gamma": 0.5}, "greater than 1"),
        ({"drift_tolerance": -1}, "greater than or equal to 0"),
        ({"label_pending_size": 2000}, "label_pending_size 2000 must be more than twice batch"),
    ],
)
def test_bad_settings_name_the_value(overrides, match) -> None:
    with pytest.raises(ValidationError, match=match):
        ConsumerSettings(**overrides)


# ------------------------------------------------------------------------ building the observer


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    rng = np.random.default_rng(21)
    train = diamonds(rng, 4000)
    return ReferenceProfile.build(
        train, numeric=list(NUMERIC_FEATURES), categorical=dict(CATEGORIES),
        reference_predictions=price(train), reference_errors=rng.normal(0, 300, len(train)),
        window_size=200, calibration_windows=50,
    )


@dataclass(frozen=True)
class ProfiledModel:
    pipeline: Any
    profile: ReferenceProfile
    version: str = "hgb-test"
    model_type: str = "hgb"
    sha256: str = "0" * 64


def test_build_follows_the_settings(profile, tiny_model) -> None:
    model = ProfiledModel(tiny_model.pipeline, profile)
    settings = ConsumerSettings(drift_gamma=1e6, drift_clear_gamma=1e4, drift_tolerance=2.0)
    observer = build_drift_observer(settings, model, CollectorRegistry())
    assert isinstance(observer, DriftObserver)
    monitor = observer.feed.monitor
    assert (monitor.gamma, monitor.clear_gamma, monitor.tolerance) == (1e6, 1e4, 2.0)
    assert observer.labels_topic == "diamonds.labels"
    concept, publisher = observer.evaluator.concept, observer.evaluator.publisher
    assert concept is not None and concept is observer.concept
    assert (concept.concept.gamma, concept.concept.tolerance) == (1e6, 2.0)
    assert observer.labels is not None and observer.labels.concept is concept
    assert observer.labels.headroom == 1000  # the batch size
    assert isinstance(publisher, ReportPublisher) and publisher.topic == "diamonds.drift-reports"
    no_join = build_drift_observer(
        ConsumerSettings(labels_topic="", drift_reports_topic=""), model, CollectorRegistry()
    )
    assert no_join is not None and no_join.labels is None and no_join.evaluator.concept is None
    assert no_join.labels_topic is None and no_join.evaluator.publisher is None
    assert build_drift_observer(ConsumerSettings(drift_enabled=False), model,
                                CollectorRegistry()) is None


def test_a_format_1_profile_has_no_concept_flag_and_a_new_profile_new_detectors(
    profile, tiny_model, caplog
) -> None:
    rng = np.random.default_rng(22)
    train = diamonds(rng, 4000)
    old = ReferenceProfile.build(  # no reference errors: no error bins
        train, numeric=list(NUMERIC_FEATURES), categorical=dict(CATEGORIES),
        reference_predictions=price(train), window_size=200, calibration_windows=50,
    )
    with caplog.at_level(logging.WARNING):
        observer = build_drift_observer(
            ConsumerSettings(), ProfiledModel(tiny_model.pipeline, old), CollectorRegistry()
        )
    assert "concept drift is off" in caplog.text
    assert observer is not None and observer.concept is None and observer.labels is not None
    assert observer.evaluate()["concept"] is None
    observer.reset(profile, model_version="hgb-next")  # the model changed, with its profile
    assert observer.feed.monitor.profile is profile
    assert observer.evaluate()["model_version"] == "hgb-next"


def test_a_model_without_a_profile_scores_without_drift(tiny_model, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        assert build_drift_observer(ConsumerSettings(), tiny_model, CollectorRegistry()) is None
    assert "no reference profile" in caplog.text


def test_a_partition_count_mismatch_is_logged(caplog) -> None:
    settings = ConsumerSettings(input_topic="in", labels_topic="lab")
    with caplog.at_level(logging.WARNING):
        check_copartitioned(settings, {"in": 3, "lab": 3})
        assert caplog.text == ""
        check_copartitioned(settings, {"in": 3, "lab": 6})
    assert "in has 3 partitions but lab has 6" in caplog.text


# ---------------------------------------------------------------------- the batch processor


class RecordingMonitor:
    labels_topic = "lab"

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail = fail
        self.pause = False

    def should_pause(self, incoming: int = 0) -> bool:
        return self.pause

    def on_batch(self, features, predictions, meta) -> None:
        self.calls.append(("on_batch", list(meta.event_ids)))
        if self.fail:
            raise RuntimeError("monitor bug")

    def on_labels(self, messages) -> None:
        self.calls.append(("on_labels", [m.offset() for m in messages]))

    def after_batch(self) -> None:
        self.calls.append(("after_batch", None))

    def on_idle(self) -> None:
        self.calls.append(("on_idle", None))

    def close(self) -> None: ...


class PausingConsumer(FakePositions):
    """Offsets plus the assignment and pause/resume calls."""

    def __init__(self) -> None:
        super().__init__()
        self.paused: list[tuple[str, list[tuple[str, int]]]] = []

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t in ("in", "lab") for p in range(2)]

    def pause(self, tps) -> None:
        self.paused.append(("pause", [(tp.topic, tp.partition) for tp in tps]))

    def resume(self, tps) -> None:
        self.paused.append(("resume", [(tp.topic, tp.partition) for tp in tps]))


def make_processor(model: FakeModel, monitor, fail=None):
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    sink = RecordingSink(fail=fail)
    settings = ConsumerSettings(input_topic="in", output_topic="out", dlq_topic="dlq",
                                group_id="g", labels_topic="lab")
    processor = BatchProcessor(
        settings, scorer=Scorer(model), sink=sink, consumer=PausingConsumer(), metrics=metrics,
        lag=LagTracker(None, "g", metrics, 5.0), observers=[monitor], labels=monitor,
    )
    return processor, sink, registry


def mixed() -> list[FakeMessage]:
    label = orjson.dumps({"event_id": "g0", "price": 900, "event_time": 1_767_225_600_000})
    return [
        FakeMessage(encode(event(event_id="g0")), _offset=10, _topic="in"),
        FakeMessage(label, _offset=500, _partition=0, _topic="lab"),
        FakeMessage(b"{not a label", _offset=501, _partition=0, _topic="lab"),
        FakeMessage(encode(event(event_id="g1")), _offset=11, _topic="in"),
    ]


def test_labels_go_to_the_monitor_and_are_committed_with_the_batch(tiny_model) -> None:
    monitor = RecordingMonitor()
    processor, sink, registry = make_processor(tiny_model, monitor)
    result = processor.process(mixed())
    outputs, dlq, offsets = sink.batches[0]
    assert (result.consumed, result.predictions, result.dead_lettered) == (2, 2, 0)
    assert dlq == [] and len(outputs) == 2  # a label (even a broken one) is never dead-lettered
    assert [(tp.topic, tp.partition, tp.offset) for tp in offsets] == [
        ("in", 0, 12), ("lab", 0, 502)
    ]
    assert monitor.calls == [
        ("on_batch", ["g0", "g1"]), ("on_labels", [500, 501]), ("after_batch", None)
    ]
    assert registry.get_sample_value("diamond_events_consumed_total") == 2
    assert registry.get_sample_value("diamond_batch_size_sum") == 4


def test_a_labels_only_batch_commits_and_reaches_the_monitor(tiny_model) -> None:
    monitor = RecordingMonitor()
    processor, sink, _ = make_processor(tiny_model, monitor)
    result = processor.process(mixed()[1:3])
    assert result.consumed == 0 and sink.batches[0][0] == []
    assert [tp.topic for tp in sink.batches[0][2]] == ["lab"]
    assert monitor.calls == [("on_labels", [500, 501]), ("after_batch", None)]


def test_a_failing_monitor_is_counted_and_scoring_goes_on(tiny_model, caplog) -> None:
    monitor = RecordingMonitor(fail=True)
    processor, sink, registry = make_processor(tiny_model, monitor)
    with caplog.at_level(logging.ERROR):
        result = processor.process(mixed())
    assert result.committed and len(sink.batches) == 1
    assert registry.get_sample_value(
        "diamond_observer_errors_total", {"observer": "RecordingMonitor"}
    ) == 1
    assert [name for name, _ in monitor.calls] == ["on_batch", "on_labels", "after_batch"]
    assert "observer RecordingMonitor failed in on_batch" in caplog.text


def test_an_uncommitted_batch_reaches_no_monitor(tiny_model) -> None:
    monitor = RecordingMonitor()
    processor, _, _ = make_processor(tiny_model, monitor, fail=DeliveryError("no"))
    with pytest.raises(DeliveryError):
        processor.process(mixed())
    assert monitor.calls == []


def test_labels_partitions_are_paused_while_labels_run_ahead(tiny_model) -> None:
    monitor = RecordingMonitor()
    processor, _, _ = make_processor(tiny_model, monitor)
    consumer = processor.consumer
    flow = LabelFlow(consumer, monitor)  # the loop paces after each batch and idle poll

    def batch() -> None:
        processor.process(mixed())
        flow.pace()

    def idle() -> None:
        processor.idle()
        flow.pace()

    batch()
    idle()
    assert consumer.paused == []  # nothing to do: never paused
    monitor.pause = True
    batch()
    batch()  # again: a rebalance in between would have resumed them
    labels = [("lab", 0), ("lab", 1)]
    assert consumer.paused == [("pause", labels), ("pause", labels)]
    monitor.pause = False
    idle()  # idle polls resume too: a stream that stopped still gets its labels
    assert consumer.paused[-1] == ("resume", labels) and not flow.paused
    assert ("on_idle", None) in monitor.calls
    idle()
    assert len(consumer.paused) == 3


# ------------------------------------------------------------------------- model changes


def test_a_swapped_champion_brings_its_own_detectors_prepared_off_the_loop(
    profile, tiny_model
) -> None:
    import time

    from consumer.models.build import Prepared, build_model_changes
    from consumer.models.slot import Offer

    settings = ConsumerSettings(models_topic="models")
    registry = CollectorRegistry()
    service_metrics = ConsumerMetrics(registry)
    observer = build_drift_observer(settings, ProfiledModel(tiny_model.pipeline, profile),
                                    registry)
    assert observer is not None and observer.labels is not None
    changes = build_model_changes(settings, ProfiledModel(tiny_model.pipeline, profile),
                                  registry, service_metrics, observer)
    assert changes is not None
    try:
        assert observer.labels.comparison is not None  # the champion window is fed the labels
        other = ReferenceProfile.from_dict(profile.to_dict())
        new = ProfiledModel(tiny_model.pipeline, other)
        prepared = changes.follower.prepare("champion", new)  # the follower's thread does this
        assert isinstance(prepared, Prepared) and prepared.detectors is not None
        assert prepared.detectors[0].profile is other
        assert prepared.scorer.model is new
        observer.labels.add_predictions(["old"], np.array([1.0]))
        scorer = changes.switch.between_batches(prepared.scorer)  # nothing offered: unchanged
        changes.switch.slot.offer(Offer("champion", new, None, time.monotonic(), prepared))
        assert changes.switch.between_batches(scorer) is prepared.scorer
        assert observer.feed.monitor is prepared.detectors[0]  # not rebuilt in the loop
        assert observer.labels.join.cache_len == 0  # the old model's predictions are gone
        value = registry.get_sample_value
        assert value("diamond_label_cache_evictions_total", {"reason": "model_change"}) == 0
        observer.after_batch()  # the label metrics sync after a batch
        assert value("diamond_label_cache_evictions_total", {"reason": "model_change"}) == 1
        assert value("diamond_model_swaps_total", {"alias": "champion"}) == 1
        challenger = changes.follower.prepare("challenger", new)
        assert challenger.detectors is None  # a challenger is only shadow-scored
    finally:
        changes.follower.consumer.close()


def test_a_pinned_model_or_no_topic_follows_nothing(profile, tiny_model, caplog) -> None:
    from consumer.models.build import build_model_changes

    model = ProfiledModel(tiny_model.pipeline, profile)
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    assert build_model_changes(ConsumerSettings(models_topic=""), model, registry, metrics,
                               None) is None
    with caplog.at_level(logging.INFO):
        assert build_model_changes(ConsumerSettings(model_sha256="a" * 64), model, registry,
                                   metrics, None) is None
    assert "pins the model" in caplog.text
    assert not ConsumerSettings(model_sha256="a" * 64).follows_models
