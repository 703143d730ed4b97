"""The drift observer with a fake clock, a fresh registry and a recording publisher: every
committed batch through the sequential detectors, when it reports (a flag change at once, else
on the schedule), what the gauges say, the report record with timed transitions, the label
path, and `reset` on a model change."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pandas as pd
import pytest
from consumer_fakes import FakeMessage
from prometheus_client import CollectorRegistry

from common.contracts import drift_reports as dr
from consumer.drift import (
    ConceptFeed,
    DataFeed,
    DriftMetrics,
    DriftObserver,
    EvaluationSchedule,
    Evaluator,
    LabelFeed,
    LabelJoin,
    ReportSource,
)
from consumer.drift.label_feed import ERROR_CAP
from consumer.pipeline.batch import BatchMeta
from drift import ReferenceProfile, SequentialConcept, SequentialMonitor
from model.features import CATEGORIES, FEATURES, NUMERIC_FEATURES

LABELS = "labels"
FLAGS = (*FEATURES, "prediction", "dataset", "concept")


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
        window_size=400, calibration_windows=100, seed=3,
    )


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

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


@pytest.fixture(scope="module")
def detectors(profile):
    """One calibration per test module (~3 s); each observer gets fresh, reset copies."""
    return SequentialMonitor(profile), SequentialConcept(profile)


def make_observer(profile, detectors=None, *, every=10**6, interval=60.0, max_share=1.0,
                  labels=True, coalesce_events=1, coalesce_seconds=0.0):
    registry = CollectorRegistry()
    clock, wall = Clock(), Clock(WALL)
    metrics = DriftMetrics(registry, profile.features)
    publisher = RecordingPublisher()
    schedule = EvaluationSchedule(eval_interval=interval, eval_every=every, max_share=max_share,
                                  clock=clock)
    monitor, concept = detectors if detectors is not None else (
        SequentialMonitor(profile), SequentialConcept(profile)
    )
    monitor.reset()
    concept.reset()
    data = DataFeed(monitor, on_transition=metrics.count_transition, wall=wall,
                    coalesce_events=coalesce_events, coalesce_seconds=coalesce_seconds,
                    clock=clock)
    concept_feed = handler = None
    if labels:
        concept_feed = ConceptFeed(concept, on_transition=metrics.count_transition, wall=wall)
        join = LabelJoin(cache_size=10_000, ttl=600, pending_size=1000, pending_wait=60,
                         clock=clock)
        handler = LabelFeed(join, metrics, labels_topic=LABELS, concept=concept_feed,
                            on_received=schedule.add_labels, wall=wall)
    evaluator = Evaluator(
        data, metrics, concept=concept_feed, publisher=publisher,
        source=ReportSource(model_version="hgb-test", group_id="g", instance="host-1"),
        wall=wall,
    )
    observer = DriftObserver(data, evaluator, schedule, labels=handler, concept=concept_feed)
    return observer, registry, clock, publisher, wall


def meta_for(ids: list[str]) -> BatchMeta:
    n = len(ids)
    return BatchMeta("in", [i.encode() for i in ids], np.zeros(n, np.int32),
                     np.arange(n, dtype=np.int64), ids, np.full(n, 1_767_225_600_000, np.int64))


def feed(observer: DriftObserver, frame: pd.DataFrame, prefix: str = "e") -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(len(frame))]
    observer.on_batch(frame, price(frame), meta_for(ids))
    observer.after_batch()
    return ids


def started(publisher, flag: str) -> list[dict]:
    return [t for r in publisher.records for t in r["transitions"]
            if t["flag"] == flag and t["kind"] == "drift_started"]


def ended(publisher, flag: str) -> list[dict]:
    return [t for r in publisher.records for t in r["transitions"]
            if t["flag"] == flag and t["kind"] == "drift_ended"]


def test_series_exist_before_the_first_report_and_say_not_flagged(profile, detectors) -> None:
    _, registry, _, publisher, _ = make_observer(profile, detectors)
    value = registry.get_sample_value
    for feature in FEATURES:
        labels = {"feature": feature}
        assert value("diamond_feature_drift_detected", labels) == 0
        assert value("diamond_feature_drift_statistic", labels) == 0  # nothing seen yet
        assert value("diamond_feature_drift_threshold", labels) > 10  # nats, ERT 3e9
    for flag in ("prediction", "dataset", "concept"):
        assert value(f"diamond_{flag}_drift_detected") == 0
        assert value(f"diamond_{flag}_drift_threshold") > 0
    assert value("diamond_dataset_drift_share") == 0
    assert math.isnan(value("diamond_concept_mae_ratio"))
    assert value("diamond_concept_reference_mae") == pytest.approx(profile.errors.mae)
    for flag in FLAGS:
        for kind in dr.TRANSITION_KINDS:
            assert value("diamond_drift_transitions_total", {"flag": flag, "kind": kind}) == 0
    assert value("diamond_drift_evaluations_total") == 0
    assert value("diamond_drift_events_total") == 0
    assert value("diamond_drift_last_evaluation_timestamp_seconds") == 0
    for outcome in ("received", "matched", "unmatched", "late", "invalid"):
        assert value(f"diamond_labels_{outcome}_total") == 0
    assert value("diamond_label_cache_size") == 0
    assert publisher.records == []


def test_every_batch_goes_through_the_detectors_reports_follow_the_count(profile,
                                                                          detectors) -> None:
    observer, registry, _, publisher, _ = make_observer(profile, detectors, every=1000)
    rng = np.random.default_rng(1)
    for k in range(1, 5):  # 4 x 240 = 960 < 1000: no report yet, but every row is seen
        feed(observer, diamonds(rng, 240))
        assert observer.feed.monitor.n_seen == 240 * k
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 0
    assert registry.get_sample_value("diamond_drift_events_total") == 960
    feed(observer, diamonds(rng, 240))  # 1200 >= 1000
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    assert len(publisher.records) == 1 and publisher.records[0]["n_seen"] == 1200
    assert publisher.records[0]["transitions"] == []  # quiet data
    feed(observer, diamonds(rng, 240))  # the count starts again
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1


def test_reports_on_the_interval_only_with_new_data(profile, detectors) -> None:
    observer, registry, clock, _, _ = make_observer(profile, detectors, interval=5.0)
    rng = np.random.default_rng(2)
    feed(observer, diamonds(rng, 100))
    clock.now += 4.9
    observer.on_idle()
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 0
    clock.now += 0.1
    observer.on_idle()  # idle polls report the tail of a burst
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1
    assert registry.get_sample_value(
        "diamond_drift_last_evaluation_timestamp_seconds"
    ) == 1_767_225_600.5
    clock.now += 60
    observer.on_idle()  # nothing new: no report, the last one stands
    observer.after_batch()
    assert registry.get_sample_value("diamond_drift_evaluations_total") == 1


def test_the_count_trigger_respects_the_cost_share(profile, detectors) -> None:
    observer, registry, clock, _, _ = make_observer(profile, detectors, every=100,
                                                    max_share=0.02)
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


def shift_until_flagged(observer, wall, rng, *, batches=20, n=250) -> int:
    """Shifted batches (carat x1.6) until a report carries a transition; the batch index."""
    for k in range(batches):
        wall.now = WALL + k
        shifted = diamonds(rng, n, carat_scale=1.6)
        feed(observer, shifted)
        if observer.last_record and observer.last_record["transitions"]:
            return k
    raise AssertionError("no flag raised")


def test_a_flag_change_is_reported_after_its_batch_with_its_time(profile, detectors) -> None:
    observer, registry, _, publisher, wall = make_observer(profile, detectors)
    rng = np.random.default_rng(4)
    feed(observer, diamonds(rng, 500))  # quiet: nothing reported (schedule far away)
    assert publisher.records == []
    k = shift_until_flagged(observer, wall, rng)
    record = publisher.records[-1]
    assert len(publisher.records) == 1  # reported at once, not at the next scheduled report
    carat = started(publisher, "carat")
    assert len(carat) == 1
    t = carat[0]
    assert t["time"] == int((WALL + k) * 1000)  # the wall time of the batch that raised it
    assert 500 + 250 * k <= t["event"] < 500 + 250 * (k + 1)  # an event of that batch
    assert t["statistic"] >= observer.feed.monitor.features["carat"].bank.h  # it crossed h
    assert tuple(t) == dr.TRANSITION_FIELDS
    assert started(publisher, "dataset")[0]["event"] == t["event"]
    assert record["data"]["features"]["carat"]["drift_detected"] is True
    assert record["data"]["features"]["carat"]["since"] == t["event"]
    value = registry.get_sample_value
    assert value("diamond_feature_drift_detected", {"feature": "carat"}) == 1
    assert value("diamond_dataset_drift_detected") == 1
    assert value("diamond_dataset_drift_share") == pytest.approx(
        sum(f["drift_detected"] for f in record["data"]["features"].values()) / 6
    )
    assert value("diamond_drift_transitions_total",
                 {"flag": "carat", "kind": "drift_started"}) == 1
    for name in ("depth", "table", "cut", "color", "clarity"):  # not shifted
        assert value("diamond_feature_drift_detected", {"feature": name}) == 0
    # the (bounded) clearing statistic replaces the detection one while the flag is up
    assert value("diamond_feature_drift_threshold", {"feature": "carat"}) == pytest.approx(
        record["data"]["features"]["carat"]["threshold"]
    )


def test_flags_clear_when_the_data_return_to_the_reference(profile, detectors) -> None:
    observer, registry, _, publisher, wall = make_observer(profile, detectors)
    rng = np.random.default_rng(5)
    shift_until_flagged(observer, wall, rng)
    raised = {t["flag"] for r in publisher.records for t in r["transitions"]}
    assert {"carat", "dataset"} <= raised
    for k in range(200):  # back to baseline: every raised flag clears
        wall.now = WALL + 100 + k
        feed(observer, diamonds(rng, 500))
        if all(ended(publisher, flag) for flag in raised):
            break
    for flag in raised:
        assert len(ended(publisher, flag)) == 1, flag
        assert ended(publisher, flag)[0]["time"] >= int((WALL + 100) * 1000)
    value = registry.get_sample_value
    assert value("diamond_dataset_drift_detected") == 0
    for feature in FEATURES:
        assert value("diamond_feature_drift_detected", {"feature": feature}) == 0
    assert value("diamond_drift_transitions_total",
                 {"flag": "carat", "kind": "drift_ended"}) == 1


def test_feature_labels_stay_bounded(profile, detectors) -> None:
    observer, registry, _, _, _ = make_observer(profile, detectors, every=1)
    rng = np.random.default_rng(6)
    frame = diamonds(rng, 300)
    frame["extra"] = 1.0  # a column the profile does not know never becomes a label value
    feed(observer, frame)
    seen = {
        s.labels["feature"]
        for metric in registry.collect() if metric.name.startswith("diamond_feature_drift_")
        for s in metric.samples
    }
    assert seen == set(FEATURES)


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


def test_labels_feed_the_concept_flag_which_raises_and_clears(profile, detectors) -> None:
    observer, registry, _, publisher, wall = make_observer(profile, detectors)
    rng = np.random.default_rng(7)
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
    wall.now = WALL + 7
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
    assert observer.concept is not None and observer.concept.concept.n_seen == 300
    # raised within these 300 labels and reported at once (no scheduled report was due)
    concept = started(publisher, "concept")
    assert len(concept) == 1 and concept[0]["time"] == int((WALL + 7) * 1000)
    assert 0 <= concept[0]["event"] < 300
    record = publisher.records[-1]
    assert record["concept"]["flag"]["drift_detected"] is True
    assert value("diamond_concept_drift_detected") == 1
    cap = ERROR_CAP * profile.errors.mae  # each error is clipped (issue 12)
    assert value("diamond_concept_mae_ratio") == pytest.approx(
        float(np.mean(np.minimum(np.abs(prices - price(frame)), cap))) / profile.errors.mae
    )
    assert record["labels"] == {
        "received": 303, "matched": 300, "unmatched": 0, "late": 1, "invalid": 1,
    }
    for k in range(100):  # labels as the model expects them again: the flag clears
        frame = diamonds(rng, 300)
        ids = feed(observer, frame, prefix=f"b{k}")
        truth = price(frame) + rng.normal(0, 300, len(frame))
        observer.labels.on_labels([label(i, p, offset=j) for j, (i, p) in
                                   enumerate(zip(ids, truth, strict=True))])
        observer.after_batch()
        if ended(publisher, "concept"):
            break
    assert len(ended(publisher, "concept")) == 1
    assert value("diamond_concept_drift_detected") == 0


def test_reset_on_a_model_change_lowers_every_flag(profile, detectors) -> None:
    observer, registry, _, publisher, wall = make_observer(profile, detectors)
    rng = np.random.default_rng(8)
    shift_until_flagged(observer, wall, rng)
    frame = diamonds(rng, 300, carat_scale=1.6)  # still shifted (a return would clear it)
    ids = feed(observer, frame, prefix="c")
    assert observer.labels is not None
    observer.labels.on_labels([label(i, p, offset=j) for j, (i, p) in
                               enumerate(zip(ids, price(frame) * 2, strict=True))])
    observer.after_batch()
    value = registry.get_sample_value
    assert value("diamond_feature_drift_detected", {"feature": "carat"}) == 1
    assert value("diamond_concept_drift_detected") == 1
    reports = len(publisher.records)
    observer.reset(profile, model_version="hgb-next")
    for feature in FEATURES:
        assert value("diamond_feature_drift_detected", {"feature": feature}) == 0
        assert value("diamond_feature_drift_statistic", {"feature": feature}) == 0
    for flag in ("prediction", "dataset", "concept"):
        assert value(f"diamond_{flag}_drift_detected") == 0
    assert observer.feed.monitor.n_seen == 0 and observer.concept.concept.n_seen == 0
    assert len(publisher.records) == reports  # a reset is no transition
    assert value("diamond_drift_transitions_total",
                 {"flag": "carat", "kind": "drift_ended"}) == 0
    record = observer.evaluate()
    assert record["model_version"] == "hgb-next" and record["transitions"] == []
    assert not any(f["drift_detected"] for f in record["data"]["features"].values())
    assert record["concept"]["flag"]["drift_detected"] is False


def test_reset_with_a_new_profile_needs_a_rebuild(profile, detectors) -> None:
    observer, _, _, _, _ = make_observer(profile, detectors)
    other = ReferenceProfile.from_dict(profile.to_dict())
    with pytest.raises(ValueError, match="new profile"):
        observer.reset(other)
    built = []

    def rebuild(p):
        built.append(p)
        return detectors

    observer.rebuild = rebuild
    observer.reset(other)
    assert built == [other]


def test_report_record_shape_is_json_without_nan(profile, detectors) -> None:
    observer, _, _, publisher, _ = make_observer(profile, detectors)
    record = observer.evaluate()  # nothing seen: every flag down, no NaN
    assert publisher.records == [record]
    body = json.loads(json.dumps(record, allow_nan=False))
    assert tuple(body) == dr.REPORT_FIELDS
    assert body["evaluated_at"] == 1_767_225_600_500
    assert (body["model_version"], body["group_id"], body["instance"]) == (
        "hgb-test", "g", "host-1"
    )
    assert body["n_seen"] == 0 and body["transitions"] == []
    assert tuple(body["data"]) == dr.DATA_FIELDS
    assert set(body["data"]["features"]) == set(FEATURES)
    assert tuple(body["data"]["features"]["carat"]) == dr.FLAG_FIELDS
    assert body["data"]["features"]["carat"]["since"] is None
    assert tuple(body["concept"]) == dr.CONCEPT_FIELDS
    assert body["concept"]["mae_ratio"] is None
    assert tuple(body["labels"]) == dr.LABEL_OUTCOMES


def test_without_a_label_join_concept_is_null(profile, detectors) -> None:
    observer, registry, _, publisher, _ = make_observer(profile, detectors, labels=False)
    assert observer.labels_topic is None and observer.labels is None  # no label handler
    assert observer.evaluate()["concept"] is None
    assert math.isnan(registry.get_sample_value("diamond_concept_reference_mae"))
    assert math.isnan(registry.get_sample_value("diamond_concept_drift_statistic"))
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


def test_should_pause_only_while_waiting_labels_get_matched(profile, detectors) -> None:
    observer, _, clock, _, _ = make_observer(profile, detectors)  # pending_size 1000
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


def test_labels_read_but_not_handed_over_count_as_pending(profile, detectors) -> None:
    # with overlap the loop answers should_pause() while the batch behind the write in flight
    # holds labels read already: they arrive before the next consume()
    observer, _, _, _, _ = make_observer(profile, detectors)  # pending_size 1000
    feed = observer.labels
    assert feed is not None
    feed.headroom = 100
    feed.on_labels([label(f"ahead-{i}", 100.0, offset=i) for i in range(850)])
    assert not feed.should_pause()  # 850 + one batch fit
    assert feed.should_pause(incoming=100)  # 950 + one batch would not


# --- the data detectors take batches in groups (DataFeed coalescing) ---------------------------


def test_batches_wait_for_the_group_size_or_its_age(profile, detectors) -> None:
    observer, _, clock, _, _ = make_observer(profile, detectors, coalesce_events=1000,
                                             coalesce_seconds=0.25)
    monitor, rng = observer.feed.monitor, np.random.default_rng(20)
    for _ in range(3):
        feed(observer, diamonds(rng, 300))
    assert monitor.n_seen == 0 and observer.feed.waiting == 900
    feed(observer, diamonds(rng, 300))  # 1,200 >= 1,000: one update of the four batches
    assert monitor.n_seen == 1200 and observer.feed.waiting == 0
    feed(observer, diamonds(rng, 100))
    clock.now += 0.1
    feed(observer, diamonds(rng, 100))
    assert monitor.n_seen == 1200
    clock.now += 0.2  # the first of them waited 0.3 s >= 0.25 s
    feed(observer, diamonds(rng, 100))
    assert monitor.n_seen == 1500


def test_grouping_moves_no_transition_event(profile) -> None:
    """The same shifted stream, batch by batch and in groups: the same transitions, at the same
    event indices; only their report waits for the group."""
    rng = np.random.default_rng(21)
    batches = [diamonds(rng, 500)] + [diamonds(rng, 120, carat_scale=1.6) for _ in range(40)]
    events = {}
    for events_per_group in (1, 1000):
        observer, _, _, publisher, _ = make_observer(
            profile, (SequentialMonitor(profile), SequentialConcept(profile)),
            coalesce_events=events_per_group, coalesce_seconds=60.0)
        for frame in batches:
            feed(observer, frame)
        observer.evaluate()
        events[events_per_group] = [(t["flag"], t["kind"], t["event"])
                                    for r in publisher.records for t in r["transitions"]]
    assert events[1] and events[1000] == events[1]


def test_what_waits_goes_through_before_a_report_an_idle_poll_and_a_reset(
    profile, detectors
) -> None:
    observer, _, _, _, _ = make_observer(profile, detectors, coalesce_events=10**4,
                                         coalesce_seconds=60.0)
    rng = np.random.default_rng(22)
    feed(observer, diamonds(rng, 300))
    assert observer.feed.monitor.n_seen == 0
    assert observer.evaluate()["data"]["n_seen"] == 300  # the report covers every event
    feed(observer, diamonds(rng, 200))
    observer.on_idle()
    assert observer.feed.monitor.n_seen == 500 and observer.feed.waiting == 0
    feed(observer, diamonds(rng, 100))
    monitor, seen_at_reset = observer.feed.monitor, []
    real_reset = monitor.reset
    monitor.reset = lambda: (seen_at_reset.append(monitor.n_seen), real_reset())  # type: ignore[method-assign]
    observer.reset()
    assert seen_at_reset == [600]  # the waiting batch reached the old model's monitor first
    assert observer.feed.waiting == 0 and observer.feed.monitor.n_seen == 0
