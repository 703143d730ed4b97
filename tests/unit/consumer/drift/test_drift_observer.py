"""The drift observer with a fake clock, a fresh registry and a recording publisher: when it
evaluates, what the gauges say before and after, the report record, the label path."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pandas as pd
import pytest
from consumer_fakes import FakeMessage
from prometheus_client import CollectorRegistry

from consumer.drift import (
    DataFeed,
    DriftMetrics,
    DriftObserver,
    EvaluationSchedule,
    Evaluator,
    LabelFeed,
    LabelJoin,
    ReportSource,
)
from consumer.pipeline.batch import BatchMeta
from drift import ConceptDriftMonitor, DriftMonitor, ReferenceProfile
from drift.concept import ERROR_CAP
from model.features import CATEGORIES, FEATURES, NUMERIC_FEATURES

WINDOW = 400
LABELS = "labels"
DRIFT_GAUGES = (
    "statistic", "p_value", "effect_size", "distance", "threshold", "detected",
)


def diamonds(rng: np.random.Generator, n: int, carat_scale: float = 1.0) -> pd.DataFrame:
    frame = pd.DataFrame({
        "carat": np.round(np.exp(rng.normal(-0.4, 0.55, n)), 2).clip(0.2, 5.0) * carat_scale,
        "depth": np.round(rng.normal(61.7, 1.4, n), 1),
        "table": np.round(rng.normal(57.5, 2.2, n)),
    })
    for name, categories in CATEGORIES.items():
        frame[name] = rng.choice(np.array(categories, dtype=object), size=n)
    return frame[list(FEATURES)]


def price(frame: pd.DataFrame) -> np.ndarray:
    return 4000.0 * frame["carat"].to_numpy()


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    rng = np.random.default_rng(11)
    train, holdout = diamonds(rng, 8000), diamonds(rng, 4000)
    return ReferenceProfile.build(
        train, numeric=list(NUMERIC_FEATURES), categorical=dict(CATEGORIES), holdout=holdout,
        reference_predictions=price(holdout), reference_errors=rng.normal(0, 300, len(holdout)),
        window_size=WINDOW, calibration_windows=100, seed=3,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingPublisher:
    def __init__(self) -> None:
        self.records: list[dict] = []
        self.closed = False

    def publish(self, record: dict) -> bool:
        self.records.append(record)
        return True

    def close(self) -> None:
        self.closed = True


WALL = 1_767_225_600.5


def make_observer(profile, *, every=1000, interval=5.0, max_share=1.0, labels=True):
    registry = CollectorRegistry()
    clock = Clock()
    metrics = DriftMetrics(registry, profile.features)
    publisher = RecordingPublisher()
    schedule = EvaluationSchedule(eval_interval=interval, eval_every=every, max_share=max_share,
                                  clock=clock)
    concept = ConceptDriftMonitor(profile, window_size=200, min_window=50) if labels else None
    feed = None
    if labels:
        join = LabelJoin(cache_size=10_000, ttl=600, pending_size=1000, pending_wait=60,
                         clock=clock)
        feed = LabelFeed(join, metrics, labels_topic=LABELS, concept=concept,
                         on_received=schedule.add_labels, wall=lambda: WALL)
    monitor = DriftMonitor(profile)
    evaluator = Evaluator(
        monitor, metrics, concept=concept, publisher=publisher,
        source=ReportSource(model_version="hgb-test", group_id="g", instance="host-1"),
        wall=lambda: WALL,
    )
    observer = DriftObserver(DataFeed(monitor, metrics), evaluator, schedule, labels=feed)
    return observer, registry, clock, publisher


def meta_for(ids: list[str]) -> BatchMeta:
    n = len(ids)
    return BatchMeta("in", [i.encode() for i in ids], np.zeros(n, np.int32),
                     np.arange(n, dtype=np.int64), ids, np.full(n, 1_767_225_600_000, np.int64))


def feed(observer: DriftObserver, frame: pd.DataFrame, prefix: str = "e") -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(len(frame))]
    observer.on_batch(frame, price(frame), meta_for(ids))
    observer.after_batch()
    return ids


def test_series_exist_before_the_first_evaluation_and_say_not_flagged(profile) -> None:
    _, registry, _, publisher = make_observer(profile)
    value = registry.get_sample_value
    for feature in FEATURES:
        labels = {"feature": feature}
        assert value("diamond_feature_drift_detected", labels) == 0
        for name in ("statistic", "p_value", "effect_size", "distance"):
            assert math.isnan(value(f"diamond_feature_drift_{name}", labels)), name
        assert value("diamond_feature_drift_threshold", labels) > 0  # calibrated at training
    assert value("diamond_prediction_drift_detected") == 0
    assert math.isnan(value("diamond_prediction_drift_p_value"))
    assert value("diamond_dataset_drift_detected") == 0
    assert value("diamond_dataset_drift_share") == 0  # none flagged (the window is empty)
    assert value("diamond_concept_drift_detected") == 0
    assert math.isnan(value("diamond_concept_window_mae"))
    assert value("diamond_concept_reference_mae") == pytest.approx(profile.errors.mae)
    assert value("diamond_drift_window_fill") == 0
    assert value("diamond_drift_window_size") == WINDOW
    assert value("diamond_drift_evaluations_total") == 0
    assert value("diamond_drift_last_evaluation_timestamp_seconds") == 0
    for outcome in ("received", "matched", "unmatched", "late", "invalid"):
        assert value(f"diamond_labels_{outcome}_total") == 0
    assert value("diamond_label_cache_size") == 0
    assert publisher.records == []


def test_evaluates_on_the_count_only_not_per_batch(profile) -> None:
    observer, registry, _, publisher = make_observer(profile, every=1000, interval=60)
    rng = np.random.default_rng(1)
    for _ in range(4):  # 4 x 240 = 960 < 1000: no evaluation yet
        feed(observer, diamonds(rng, 240))
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 0
    assert registry.get_sample_value("diamond_drift_window_fill") == 0  # set by evaluations
    feed(observer, diamonds(rng, 240))  # 1200 >= 1000
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    assert len(publisher.records) == 1
    feed(observer, diamonds(rng, 240))  # the count starts again
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    assert registry.get_sample_value("diamond_drift_window_fill") == WINDOW


def test_evaluates_on_the_interval_only_with_new_data(profile) -> None:
    observer, registry, clock, _ = make_observer(profile, every=10**6, interval=5.0)
    rng = np.random.default_rng(2)
    feed(observer, diamonds(rng, 100))
    clock.now += 4.9
    observer.on_idle()
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 0
    clock.now += 0.1
    observer.on_idle()  # idle polls evaluate the tail of a burst
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    assert registry.get_sample_value(
        "diamond_drift_last_evaluation_timestamp_seconds"
    ) == 1_767_225_600.5
    clock.now += 60
    observer.on_idle()  # nothing new: no evaluation, the last report stands
    observer.after_batch()
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1


def test_the_count_trigger_respects_the_cost_share(profile) -> None:
    observer, registry, clock, _ = make_observer(profile, every=100, interval=60, max_share=0.02)
    rng = np.random.default_rng(3)
    feed(observer, diamonds(rng, 100))  # the first one: nothing measured yet
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    observer.schedule.last_duration = 0.02  # it took 20 ms: the next count trigger waits 1 s
    clock.now += 0.5
    feed(observer, diamonds(rng, 100))
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    clock.now += 0.5
    feed(observer, diamonds(rng, 100))
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 2


def test_gauges_follow_the_report_and_feature_labels_stay_bounded(profile) -> None:
    observer, registry, _, publisher = make_observer(profile, every=WINDOW)
    rng = np.random.default_rng(4)
    shifted = diamonds(rng, WINDOW, carat_scale=1.6)
    shifted["extra"] = 1.0  # a column the profile does not know never becomes a label value
    feed(observer, shifted)
    report = observer.evaluator.last_report
    assert report is not None and report.drifted_features == ("carat",)
    value = registry.get_sample_value
    for feature, fd in report.features.items():
        labels = {"feature": feature}
        assert value("diamond_feature_drift_detected", labels) == int(fd.drift_detected)
        assert value("diamond_feature_drift_effect_size", labels) == pytest.approx(fd.psi)
        assert value("diamond_feature_drift_p_value", labels) == pytest.approx(fd.p_value)
        assert value("diamond_feature_drift_statistic", labels) == pytest.approx(fd.statistic)
        assert value("diamond_feature_drift_distance", labels) == pytest.approx(fd.distance)
        assert value("diamond_feature_drift_threshold", labels) == pytest.approx(fd.threshold)
    assert value("diamond_dataset_drift_share") == pytest.approx(1 / 6)
    assert value("diamond_dataset_drift_detected") == 0
    assert value("diamond_prediction_drift_detected") == 1  # prices follow carat
    assert value("diamond_drift_window_fill") == WINDOW
    seen = {
        s.labels["feature"]
        for metric in registry.collect() if metric.name.startswith("diamond_feature_drift_")
        for s in metric.samples
    }
    assert seen == set(FEATURES)
    assert publisher.records[-1]["data"]["features"]["carat"]["drift_detected"] is True


def label(event_id: str, price_: float, *, offset: int = 0, published: int | None = None,
          event_time: int = 1_767_225_600_000) -> FakeMessage:
    msg = LabelMessage(orjson.dumps({"event_id": event_id, "price": float(price_),
                                     "event_time": event_time}), _offset=offset, _topic=LABELS)
    msg.published = event_time + 5000 if published is None else published
    return msg


class LabelMessage(FakeMessage):
    published: int = 0

    def timestamp(self) -> tuple[int, int]:
        return (1, self.published)  # TIMESTAMP_CREATE_TIME


def test_labels_join_feed_the_concept_monitor_and_the_counters(profile) -> None:
    observer, registry, _, publisher = make_observer(profile, every=10**6, interval=1.0)
    rng = np.random.default_rng(5)
    frame = diamonds(rng, 300)
    ids = feed(observer, frame)
    prices = price(frame) * 1.6  # the world got 60 % dearer
    messages = [label(i, p, offset=k) for k, (i, p) in enumerate(zip(ids, prices, strict=True))]
    messages += [
        FakeMessage(b"{not json", _topic=LABELS, _offset=900),
        label("never-scored", 500.0, offset=901),
        label(ids[0], 900.0, offset=902, published=1_767_225_600_000 + 601_000),  # late
    ]
    assert observer.labels is not None
    observer.labels.on_labels(messages)
    observer.after_batch()
    value = registry.get_sample_value
    assert value("diamond_labels_received_total") == 303
    assert value("diamond_labels_matched_total") == 300
    assert value("diamond_labels_invalid_total") == 1
    assert value("diamond_labels_late_total") == 1
    assert value("diamond_labels_unmatched_total") == 0  # "never-scored" is still pending
    assert value("diamond_labels_pending") == 1
    assert value("diamond_label_cache_size") == 0  # every cached prediction was joined
    assert observer.evaluator.concept is not None and observer.evaluator.concept.n_seen == 300
    observer.evaluate()
    assert value("diamond_concept_drift_detected") == 1
    assert value("diamond_concept_mae_ratio") > 1.5
    last = slice(-200, None)  # the concept window holds the newest 200 labelled rows
    cap = ERROR_CAP * profile.errors.mae  # each error is clipped (issue 12)
    assert value("diamond_concept_window_mae") == pytest.approx(
        float(np.mean(np.minimum(np.abs(prices[last] - price(frame)[last]), cap)))
    )
    assert publisher.records[-1]["labels"] == {
        "received": 303, "matched": 300, "unmatched": 0, "late": 1, "invalid": 1,
    }


def test_report_record_shape_is_json_without_nan(profile) -> None:
    observer, _, _, publisher = make_observer(profile)
    record = observer.evaluate()  # an empty window: statistics are null, not NaN
    assert publisher.records == [record]
    text = json.dumps(record, allow_nan=False)
    body = json.loads(text)
    assert set(body) == {
        "evaluated_at", "model_version", "group_id", "instance", "n_seen", "data", "concept",
        "labels",
    }
    assert body["evaluated_at"] == 1_767_225_600_500
    assert (body["model_version"], body["group_id"], body["instance"]) == (
        "hgb-test", "g", "host-1"
    )
    assert body["n_seen"] == 0
    assert set(body["data"]) == {"n_rows", "n_seen", "effect", "features", "prediction", "dataset"}
    assert set(body["data"]["features"]) == set(FEATURES)
    assert body["data"]["features"]["carat"]["p_value"] is None
    assert set(body["concept"]) >= {"n_labels", "mae", "mae_ratio", "drift_detected"}
    assert set(body["labels"]) == {"received", "matched", "unmatched", "late", "invalid"}


def test_without_a_label_join_concept_is_null(profile) -> None:
    observer, registry, _, publisher = make_observer(profile, labels=False)
    assert observer.labels_topic is None and observer.labels is None  # no label handler
    assert observer.evaluate()["concept"] is None
    assert math.isnan(registry.get_sample_value("diamond_concept_reference_mae"))
    observer.close()
    assert publisher.closed


@pytest.mark.parametrize(
    "kwargs",
    [{"eval_interval": 0, "eval_every": 1}, {"eval_interval": 1, "eval_every": 0},
     {"eval_interval": 1, "eval_every": 1, "max_share": 0}],
)
def test_bad_parameters_raise(kwargs) -> None:
    with pytest.raises(ValueError, match="eval_interval must be > 0 s"):
        EvaluationSchedule(**kwargs)


def test_a_join_needs_a_labels_topic(profile) -> None:
    metrics = DriftMetrics(CollectorRegistry(), profile.features)
    join = LabelJoin(cache_size=10, ttl=1, pending_size=1, pending_wait=1)
    with pytest.raises(ValueError, match="labels_topic"):
        LabelFeed(join, metrics, labels_topic="")


def test_rows_are_buffered_into_few_large_updates_and_flushed_before_evaluating(profile) -> None:
    observer, _, _, _ = make_observer(profile, every=10**6, interval=60)
    observer.feed.update_rows = 400
    rng = np.random.default_rng(6)
    feed(observer, diamonds(rng, 150))
    feed(observer, diamonds(rng, 150))
    assert observer.feed.monitor.n_seen == 0  # still buffered
    feed(observer, diamonds(rng, 150))  # 450 >= 400: one update of all three batches
    assert observer.feed.monitor.n_seen == 450
    feed(observer, diamonds(rng, 50))
    record = observer.evaluate()  # flushes first: the report covers every scored event
    assert record["n_seen"] == observer.feed.monitor.n_seen == 500
    assert record["data"]["n_rows"] == WINDOW


def test_should_pause_only_while_waiting_labels_get_matched(profile) -> None:
    observer, _, clock, _ = make_observer(profile)  # pending_size 1000
    feed = observer.labels
    assert feed is not None
    feed.headroom = 100  # batches of 100: pause above 900 pending, resume at 450
    assert not feed.should_pause()
    feed.on_labels([label(f"ahead-{i}", 100.0, offset=i) for i in range(900)])
    assert not feed.should_pause()  # 100 more still fit
    feed.on_labels([label(f"ahead-{i}", 100.0, offset=i) for i in range(900, 960)])
    assert feed.should_pause()
    rng = np.random.default_rng(7)
    frame = diamonds(rng, 460)
    ids = [f"ahead-{i}" for i in range(460)]
    clock.now += feed.pause_patience - 1
    observer.on_batch(frame.iloc[:10], price(frame)[:10], meta_for(ids[:10]))
    assert feed.join.pending_len == 950 and feed.should_pause()  # their events catch up
    clock.now += feed.pause_patience - 1
    observer.on_batch(frame.iloc[10:450], price(frame)[10:450], meta_for(ids[10:450]))
    assert feed.join.pending_len == 510 and feed.should_pause()  # hysteresis, still joining
    clock.now += feed.pause_patience  # none joined for that long: no longer worth it
    assert not feed.should_pause()
    feed.on_labels([label(f"junk-{i}", 100.0, offset=i) for i in range(400)])
    assert feed.join.pending_len == 910 and not feed.should_pause()  # not again...
    observer.on_batch(frame.iloc[450:], price(frame)[450:], meta_for(ids[450:]))
    assert feed.join.pending_len == 900 and not feed.should_pause()
    feed.on_labels([label(f"junk-{i}", 100.0, offset=i) for i in range(400, 410)])
    assert feed.should_pause()  # ...until a waiting label was joined
    assert feed.join.counts.matched == 460 and feed.join.counts.unmatched == 0
