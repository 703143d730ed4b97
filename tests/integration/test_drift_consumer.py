"""Drift monitoring in the scoring service on the real broker, fed by the real producer: gauges
read over HTTP from /metrics, reports read back from their topic, labels joined.

Every scored batch goes through the sequential detectors; reports come every 250 events (or
0.1-1 s) and at once when a flag changes. The tests that time detection use one partition
(input and labels), so events are consumed exactly in the order sent, and a paced producer the
consumer keeps up with; the detectors' own false-alarm rate is the default (3e9 events)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer

from common.contracts.drift_reports import REPORT_FIELDS
from common.prometheus_text import Scrape, fetch
from consumer import ConsumerSettings, ScoringService
from consumer.edge.clients import consumer_config
from model.artifact import load_artifact
from model.features import FEATURES
from producer import EventGenerator, LabelQueue, ProducerSettings, run_producer

pytestmark = pytest.mark.integration

FLAGS = (
    "diamond_prediction_drift_detected", "diamond_dataset_drift_detected",
    "diamond_concept_drift_detected",
)


def scrape(port: int) -> Scrape:
    """Every sample of /metrics, read over HTTP."""
    return fetch(f"http://127.0.0.1:{port}/metrics", timeout=5)


def feature_flags(samples: Scrape) -> dict[str, float | None]:
    return {feature: samples.value("diamond_feature_drift_detected", feature=feature)
            for feature in FEATURES}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def evaluated_everything(service: ScoringService, n_events: int) -> Callable[[], bool]:
    def check() -> bool:
        record = getattr(service.drift, "last_record", None)
        return record is not None and record["n_seen"] >= n_events

    return check


def labels_evaluated(service: ScoringService, n_labels: int) -> Callable[[], bool]:
    def check() -> bool:
        record = getattr(service.drift, "last_record", None)
        return record is not None and record["labels"]["received"] >= n_labels

    return check


def produce(bootstrap: str, topic: str, **overrides: Any) -> None:
    settings = ProducerSettings(**{
        "bootstrap_servers": bootstrap, "topic": topic, "create_topics": False, "seed": 7,
        "progress_interval": 60, **overrides,
    })
    summary = run_producer(settings)
    assert summary.ok, summary.line()


def score_stream(running_service, settings: ConsumerSettings, bootstrap: str, *, events: int,
                 then: dict[str, Any] | None = None, **producer: Any) -> tuple[Scrape, Scrape]:
    """/metrics once the service has reported the `events` the producer sent (`producer`: its
    overrides) and, when it sent labels, every label; then, after a second run with the
    overrides in `then` (e.g. back to baseline), again (the first scrape when `then` is None)."""
    runs = [producer] if then is None else [producer, {**producer, **then}]
    samples = []
    total = 0
    with running_service(settings) as service:
        for run in runs:
            if run.get("labels"):
                run = {"labels_topic": settings.labels_topic, **run}
            produce(bootstrap, settings.input_topic, events=events, **run)
            total += events
            if run.get("labels"):
                wait_for(labels_evaluated(service, total), 30, "every label joined, reported")
            else:
                wait_for(evaluated_everything(service, total), 30, "the last report")
            samples.append(scrape(service.metrics_port or 0))
    return samples[0], samples[-1]


def reports(drain_topic, topic: str) -> list[dict]:
    bodies = [(msg.key(), orjson.loads(msg.value())) for msg in drain_topic(topic)]
    for key, body in bodies:
        assert key == body["instance"].encode()
    return sorted((body for _, body in bodies), key=lambda b: (b["evaluated_at"], b["n_seen"]))


def changes(published: list[dict], flag: str, kind: str = "drift_started") -> list[tuple[dict,
                                                                                       dict]]:
    """(transition, the report that carried it) of `flag`, in order."""
    return [(t, r) for r in published for t in r["transitions"]
            if t["flag"] == flag and t["kind"] == kind]


@pytest.fixture
def drift_settings(new_topic, consumer_settings) -> Callable[..., ConsumerSettings]:
    def make(partitions: int = 3, **overrides: Any) -> ConsumerSettings:
        values: dict[str, Any] = {
            "input_topic": new_topic(partitions), "output_topic": new_topic(partitions),
            "dlq_topic": new_topic(partitions), "labels_topic": new_topic(partitions),
            "drift_reports_topic": new_topic(1),
            "drift_eval_every": 250, "drift_eval_interval": 1.0,
            "drift_eval_max_share": 1.0, "batch_size": 250, **overrides,
        }
        return consumer_settings(**values)

    return make


def test_the_range_assignor_co_partitions_the_labels_topic(
    new_topic, bootstrap_servers, unique_group_id, consumer_settings
) -> None:
    """The design rests on this: two members of one group, subscribed to both topics (equal
    partition counts) with the service's own consumer configuration, each own the same
    partition numbers of both topics."""
    topic_in, topic_labels = new_topic(4), new_topic(4)
    settings = consumer_settings(input_topic=topic_in, labels_topic=topic_labels,
                                 group_id=unique_group_id("copart"))
    members = [Consumer(consumer_config(settings)) for _ in range(2)]
    try:
        for member in members:
            member.subscribe([topic_in, topic_labels])
        deadline = time.monotonic() + 60
        while True:
            for member in members:
                member.poll(0.2)
            owned = [{(tp.topic, tp.partition) for tp in m.assignment()} for m in members]
            if sum(len(o) for o in owned) == 8 and all(owned):
                break
            assert time.monotonic() < deadline, owned
        for o in owned:
            parts_in = {p for t, p in o if t == topic_in}
            parts_labels = {p for t, p in o if t == topic_labels}
            assert parts_in and parts_in == parts_labels, owned
    finally:
        for member in members:
            member.close()


def test_baseline_stream_flags_nothing_and_reports_are_published(
    drift_settings, bootstrap_servers, drain_topic, model_dir, running_service
) -> None:
    settings = drift_settings()
    n = 4000
    samples, _ = score_stream(running_service, settings, bootstrap_servers, events=n, rate=4000,
                              scenario="baseline")
    assert samples.value("diamond_events_consumed_total") == n
    assert samples.value("diamond_drift_events_total") == n  # every event, whatever the cadence
    # every 250 events at most: a count trigger waits while the last evaluation took more than
    # the time since (drift_eval_max_share=1), so a loaded machine runs fewer
    assert 2 <= samples.value("diamond_drift_evaluations_total") <= n / 250 + 5
    assert feature_flags(samples) == dict.fromkeys(FEATURES, 0.0)
    for flag in FLAGS:
        assert samples.value(flag) == 0, flag
    for feature in FEATURES:  # below the detection threshold (nats, ERT 3e9 events)
        statistic = samples.value("diamond_feature_drift_statistic", feature=feature)
        assert 0 <= statistic < samples.value("diamond_feature_drift_threshold", feature=feature)
    # one report per evaluation on the reports topic, in the documented shape, no transition
    published = reports(drain_topic, settings.drift_reports_topic)
    assert len(published) == samples.value("diamond_drift_evaluations_total")
    assert all(r["transitions"] == [] for r in published)
    last = published[-1]
    assert tuple(last) == REPORT_FIELDS
    assert last["model_version"] == load_artifact(model_dir).version
    assert last["group_id"] == settings.group_id and last["n_seen"] == n
    assert abs(last["evaluated_at"] / 1000 - time.time()) < 120
    assert set(last["data"]["features"]) == set(FEATURES) and last["data"]["gamma"] == 3e9
    assert last["data"]["dataset"]["drift_detected"] is False
    assert last["concept"]["n_labels"] == 0 and last["concept"]["mae_ratio"] is None  # no labels
    assert last["concept"]["flag"]["drift_detected"] is False
    assert last["labels"] == dict.fromkeys(("received", "matched", "unmatched", "late",
                                            "invalid"), 0)


def assert_every_label_joined(samples: Scrape, n_labels: int) -> None:
    for outcome, expected in (("received", n_labels), ("matched", n_labels), ("unmatched", 0),
                              ("late", 0), ("invalid", 0)):
        assert samples.value(f"diamond_labels_{outcome}_total") == expected, outcome
    assert samples.value("diamond_labels_pending") == 0


def detection(published: list[dict], flag: str, onset: int, batch_size: int) -> int:
    """Events from the onset to the event that raised `flag` (once, never before the onset);
    the report that carried it left right after that event's batch."""
    started = changes(published, flag)
    assert len(started) == 1, started
    t, report = started[0]
    assert t["event"] >= onset, t
    # through Kafka: at most one batch after the detector's own event
    assert report["n_seen"] - (t["event"] + 1) < batch_size, (t, report["n_seen"])
    assert t["time"] <= report["evaluated_at"]
    return t["event"] + 1 - onset


def data_drift_flagged(drifted: Scrape, after: Scrape, published: list[dict],
                       settings: ConsumerSettings, drain_topic, n: int, onset: int) -> None:
    """Carat, clarity, the dataset and the predictions are flagged soon after the onset and
    never before; once the stream is back at baseline, every flag clears."""
    flags = feature_flags(drifted)
    assert flags == {"carat": 1, "clarity": 1, "cut": 0, "color": 0, "depth": 0, "table": 0}
    assert drifted.value("diamond_dataset_drift_detected") == 1  # any feature
    assert drifted.value("diamond_dataset_drift_share") == pytest.approx(2 / 6)
    assert drifted.value("diamond_prediction_drift_detected") == 1  # prices follow carat
    delays = {flag: detection(published, flag, onset, settings.batch_size)
              for flag in ("carat", "clarity", "dataset", "prediction")}
    assert delays["dataset"] == min(delays["carat"], delays["clarity"])
    cleared = {flag: changes(published, flag, "drift_ended")[0][0]["event"] + 1 - n
               for flag in ("carat", "clarity", "dataset", "prediction")}
    print(f"data drift raised {delays} events after the onset; cleared {cleared} events after "
          "the return to baseline")
    # a 30 % scale shift costs a few hundred events (see bench drift_delays); slack x3
    assert delays["carat"] <= 1500, delays
    assert all(0 < c <= n for c in cleared.values()), cleared
    assert feature_flags(after) == dict.fromkeys(FEATURES, 0.0)
    for flag in FLAGS:
        assert after.value(flag) == 0, flag
    assert after.value("diamond_drift_transitions_total", flag="carat",
                       kind="drift_ended") == 1


def concept_drift_flagged(drifted: Scrape, after: Scrape, published: list[dict],
                          settings: ConsumerSettings, drain_topic, n: int, onset: int) -> None:
    """Concept drift only, from every label joined, soon after the onset and never before;
    with the labels back at baseline it clears."""
    assert drifted.value("diamond_concept_drift_detected") == 1
    assert feature_flags(drifted) == dict.fromkeys(FEATURES, 0.0)
    assert drifted.value("diamond_dataset_drift_detected") == 0
    assert_every_label_joined(drifted, n)
    assert drifted.value("diamond_events_consumed_total") == n  # labels are not input events
    assert drain_topic(settings.dlq_topic) == []
    started = changes(published, "concept")
    assert len(started) == 1
    t, report = started[0]
    assert t["event"] >= onset  # the label index: labels arrive in event order here
    delay = t["event"] + 1 - onset
    ended = changes(published, "concept", "drift_ended")
    assert len(ended) == 1 and ended[0][0]["event"] >= n
    print(f"concept drift raised {delay} labels past the onset, cleared "
          f"{ended[0][0]['event'] + 1 - n} labels after the return to baseline")
    assert 0 < delay <= 1000
    assert after.value("diamond_concept_drift_detected") == 0
    assert_every_label_joined(after, 2 * n)


# scenario: (consumer settings, producer settings, events, onset, what must hold)
DRIFT_SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any], int, int, Callable[..., None]]] = {
    "data-drift": ({"drift_eval_every": 100, "batch_size": 100}, {}, 5000, 2000,
                   data_drift_flagged),
    "concept-drift": ({"drift_eval_interval": 0.1}, {"labels": True, "label_delay": 1.0}, 4000,
                      1500, concept_drift_flagged),
}


@pytest.mark.parametrize("scenario", sorted(DRIFT_SCENARIOS))
def test_a_drift_is_flagged_soon_after_its_onset_and_clears_after_it(
    scenario, drift_settings, bootstrap_servers, drain_topic, running_service
) -> None:
    consumer, producer, n, onset, check = DRIFT_SCENARIOS[scenario]
    settings = drift_settings(partitions=1, **consumer)
    drifted, after = score_stream(running_service, settings, bootstrap_servers, events=n,
                                  rate=1000, scenario=scenario, drift_onset=onset,
                                  then={"scenario": "baseline", "seed": 8, "run_id": "back"},
                                  **producer)
    check(drifted, after, reports(drain_topic, settings.drift_reports_topic), settings,
          drain_topic, n, onset)


def test_labels_ahead_of_their_events_wait_and_still_join(
    drift_settings, produce_values, event_rows, caplog, running_service
) -> None:
    """The consumer behind on its events, the labels already there (as when catching up on a
    backlog: label records are smaller, so their partitions are read faster). The labels wait
    in the pending buffer; while it is nearly full the labels partitions are paused, so the rest
    wait in Kafka, not given up; once the events are scored every label joins."""
    settings = drift_settings(label_pending_size=600, drift_eval_interval=0.25)  # batches: 250
    n = 3000
    batch = EventGenerator(event_rows, seed=9, run_id="ahead").take(n)
    queue = LabelQueue(delay=0.0, max_pending=n)
    queue.add(batch, sent_at=0.0)
    keys, labels = zip(*queue.pop_due(None), strict=True)
    produce_values(settings.labels_topic, list(labels), list(keys))
    with (caplog.at_level(logging.INFO, logger="consumer.loop"),
          running_service(settings) as service):
        port = service.metrics_port or 0
        wait_for(lambda: "pausing" in caplog.text, 30, "the labels partitions to pause")
        # a batch read before the pause (prepared behind the write in flight: overlap) is still
        # handed over right after it; then nothing more
        time.sleep(0.5)
        received = scrape(port).value("diamond_labels_received_total")
        time.sleep(1.0)  # paused: no label is read any more, none is pushed out
        paused = scrape(port)
        assert paused.value("diamond_labels_received_total") == received
        assert 600 - 250 < paused.value("diamond_labels_pending") == received <= 600
        assert paused.value("diamond_labels_unmatched_total") == 0
        produce_values(settings.input_topic, batch.values, batch.keys)
        wait_for(labels_evaluated(service, n), 30, "every label joined and evaluated")
        samples = scrape(port)
    assert f"pausing {settings.labels_topic}: labels wait for their events" in caplog.text
    assert f"resuming {settings.labels_topic}: their events caught up" in caplog.text
    assert_every_label_joined(samples, n)
    assert samples.value("diamond_concept_drift_detected") == 0  # baseline prices
