"""One loop iteration of the retrainer with fakes at the Kafka boundary: the join, invalid
records, triggers, the gate's decisions, and the metrics Prometheus would scrape."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from common.contracts.labels import encode_label
from common.contracts.models import Withdrawal, decode_announcement
from model.registry import ModelRegistry
from retrainer import RetrainerService, RetrainerSettings
from retrainer.metrics import DECISION_KINDS
from retrainer.window import EVICTION_KINDS
from tests.unit.common.kafka_fakes import FakeProducer, message
from tests.unit.model.registry_fakes import fake_artifact


class Batches:
    """A consumer whose `consume()` returns the given batches, then nothing."""

    def __init__(self, *batches: list[Message]) -> None:
        self.batches = list(batches)

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        return self.batches.pop(0) if self.batches else []


@pytest.fixture
def service(tmp_path: Path) -> RetrainerService:
    settings = RetrainerSettings(registry_dir=tmp_path / "registry", metrics_port=0,
                                 min_rows=10, min_gap_s=0)
    return RetrainerService(settings, registry=CollectorRegistry())


def sample(service: RetrainerService, name: str, **labels: str) -> float | None:
    return service.metrics.registry.get_sample_value(name, labels or None)


def event(event_id: str) -> bytes:
    return orjson.dumps({"event_id": event_id, "carat": 0.5, "cut": "Ideal", "color": "E",
                         "clarity": "SI1", "depth": 61.5, "table": 55.0,
                         "event_time": time.time_ns() // 1_000_000})


def on(service: RetrainerService, kind: str, offset: int, value: bytes | None) -> Message:
    topic = {"event": service.settings.events_topic, "label": service.settings.labels_topic,
             "report": service.settings.drift_reports_topic}[kind]
    return message(topic, 0, offset, value)


def test_events_and_labels_are_joined_and_invalid_records_counted(
    service: RetrainerService,
) -> None:
    now = time.time_ns() // 1_000_000
    consumer = Batches(
        [on(service, "event", 0, event("a")), on(service, "event", 1, event("b")),
         on(service, "event", 2, b"{"), on(service, "report", 0, b"[]")],
        [on(service, "label", 0, encode_label("a", 900, now)),
         on(service, "label", 1, encode_label("zzz", 900, now)),
         on(service, "label", 2, b'{"price": -1}')],
    )
    service.step(consumer)
    service.step(consumer)
    assert len(service.window) == 1 and service.window.pending == 1
    assert sample(service, "diamond_retrainer_window_rows") == 1
    assert sample(service, "diamond_retrainer_pending_events") == 1
    assert sample(service, "diamond_retrainer_waiting_labels") == 1  # "zzz": no event yet
    assert sample(service, "diamond_retrainer_unmatched_labels_total") == 0
    for kind in ("event", "label", "drift_report"):
        assert sample(service, "diamond_retrainer_invalid_records_total", kind=kind) == 1


def test_a_trigger_without_enough_rows_waits_and_is_counted_once(
    service: RetrainerService,
) -> None:
    service.request_training("by the test")
    for _ in range(3):
        service.step(Batches())
    assert sample(service, "diamond_retrainer_triggers_total", kind="on_demand") == 1
    assert sample(service, "diamond_retrainer_decisions_total",
                  decision="trigger_not_enough_rows") == 1
    assert service.gate.waiting is not None and service.gate.waiting.kind == "on_demand"
    assert not service.worker.busy


def test_a_concept_report_is_a_drift_trigger(service: RetrainerService) -> None:
    now = time.time_ns() // 1_000_000
    report = orjson.dumps({"instance": "c-1", "transitions": [
        {"flag": "concept", "kind": "drift_started", "statistic": 9.0, "detector": "ph",
         "event": 10, "time": now}]})
    service.step(Batches([on(service, "report", 0, report)]))
    assert sample(service, "diamond_retrainer_triggers_total", kind="drift") == 1
    assert service.gate.waiting is not None and service.gate.waiting.kind == "drift"


def test_every_series_is_there_before_anything_happens(service: RetrainerService) -> None:
    for decision in DECISION_KINDS:
        assert sample(service, "diamond_retrainer_decisions_total", decision=decision) == 0
    for outcome in ("challenger", "rejected", "failed"):
        assert sample(service, "diamond_retrainer_trainings_total", outcome=outcome) == 0
    for kind in EVICTION_KINDS:
        assert sample(service, "diamond_retrainer_evictions_total", kind=kind) == 0
    live: Any = sample(service, "diamond_retrainer_live_mae", model="challenger")
    assert live != live  # NaN: unknown until a challenger is compared
    assert sample(service, "diamond_retrainer_promotions_total") == 0


class Priced:
    """A stand-in for a loaded artifact: `pipeline.predict` prices every stone at `price`."""

    def __init__(self, price: float) -> None:
        self.pipeline = self
        self.price = price

    def predict(self, frame: Any) -> Any:
        return [self.price] * len(frame)


def contest(tmp_path: Path, champion_price: float, challenger_price: float,
            **overrides: Any) -> tuple[RetrainerService, FakeProducer]:
    registry = ModelRegistry(tmp_path / "registry")
    for payload in (b"champion", b"challenger"):
        registry.register(fake_artifact(payload), source="train", reason="r")
    registry.promote("v0001", "r")
    registry.set_alias("challenger", "v0002", "r")
    settings = RetrainerSettings(registry_dir=registry.root, metrics_port=0, min_labels=20,
                                 **overrides)
    service = RetrainerService(settings, registry=CollectorRegistry())
    producer = FakeProducer()
    service._producer = producer  # what run() creates: the fake Kafka boundary
    service.champion = ("v0001", Priced(champion_price))  # type: ignore[assignment]
    service._start_contest("v0002", Priced(challenger_price))  # type: ignore[arg-type]
    return service, producer


def labelled(service: RetrainerService, n: int, price: float) -> Batches:
    now = time.time_ns() // 1_000_000
    ids = [f"e{i}" for i in range(n)]
    return Batches([on(service, "event", i, event(e)) for i, e in enumerate(ids)],
                   [on(service, "label", i, encode_label(e, price, now))
                    for i, e in enumerate(ids)])


def test_a_clearly_worse_challenger_is_withdrawn_and_tombstoned(tmp_path: Path) -> None:
    # true price 1,000: the champion is off by 100, the challenger by 300
    service, producer = contest(tmp_path, 1100.0, 1300.0)
    consumer = labelled(service, 30, 1000.0)
    service.step(consumer)
    service.step(consumer)
    assert service.registry.alias("challenger") is None
    assert service.registry.alias("champion") == "v0001"
    assert service.challenger is None
    assert sample(service, "diamond_retrainer_decisions_total", decision="withdrawn") == 1
    assert [(p.key, p.value) for p in producer.delivered] == [(b"challenger", None)]


def test_a_clearly_better_challenger_is_promoted_and_announced(tmp_path: Path) -> None:
    service, producer = contest(tmp_path, 1300.0, 1100.0)
    consumer = labelled(service, 30, 1000.0)
    service.step(consumer)
    service.step(consumer)
    assert service.registry.alias("champion") == "v0002"
    assert sample(service, "diamond_retrainer_promotions_total") == 1
    assert sample(service, "diamond_retrainer_live_mae", model="challenger") == 100.0
    assert sample(service, "diamond_retrainer_live_mae", model="champion") == 300.0
    champion, challenger = (decode_announcement(p.key, p.value) for p in producer.delivered)
    assert getattr(champion, "version", None) == "v0002"
    assert challenger == Withdrawal("challenger")


def test_a_challenger_without_labels_times_out(tmp_path: Path) -> None:
    service, _ = contest(tmp_path, 1100.0, 1100.0, challenger_timeout_s=0.001)
    time.sleep(0.01)
    service.step(Batches())
    assert service.registry.alias("challenger") is None
    history = service.registry.aliases()["history"][-1]
    assert history["reason"].startswith("withdrew v0002: no decision within 0.001 s")
