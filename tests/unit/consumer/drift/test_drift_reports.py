"""The drift-report publisher with a fake producer: poll(0) after produce, key, failures counted
(never raised), flush on close."""

from __future__ import annotations

import logging

import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import CollectorRegistry

from consumer.drift import DriftMetrics, ReportPublisher

FEATURES = ("carat", "depth", "table", "cut", "color", "clarity")


class FakeProducer:
    def __init__(self, config: dict, *, refuse: Exception | None = None, fail: bool = False,
                 unflushed: int = 0) -> None:
        self.config = config
        self.calls: list[str] = []
        self.produced: list[tuple[str, bytes, bytes]] = []
        self.refuse = refuse
        self.fail = fail
        self.unflushed = unflushed
        self._callbacks: list = []

    def produce(self, topic, value, key, on_delivery) -> None:
        self.calls.append("produce")
        if self.refuse is not None:
            raise self.refuse
        self.produced.append((topic, value, key))
        self._callbacks.append((on_delivery, topic))

    def poll(self, timeout: float) -> int:
        self.calls.append(f"poll({timeout:g})")
        for callback, topic in self._callbacks:
            err = KafkaError(KafkaError._MSG_TIMED_OUT) if self.fail else None
            callback(err, FakeMsg(topic))
        self._callbacks = []
        return 0

    def flush(self, timeout: float) -> int:
        self.calls.append("flush")
        return self.unflushed


class FakeMsg:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


def make(**fake):
    registry = CollectorRegistry()
    metrics = DriftMetrics(registry, FEATURES)
    made: list[FakeProducer] = []

    def factory(config):
        made.append(FakeProducer(config, **fake))
        return made[-1]

    publisher = ReportPublisher({"bootstrap.servers": "x"}, "reports", "host-1",
                                metrics.report_failures.inc, producer_factory=factory)
    return publisher, made, registry


def failures(registry) -> float:
    return registry.get_sample_value("diamond_drift_report_failures_total")


def test_publish_keys_by_instance_polls_and_flushes_on_close() -> None:
    publisher, made, registry = make()
    assert made == []  # no client before the first report
    with publisher:
        assert publisher.publish({"evaluated_at": 1, "n_seen": 2})
    producer = made[0]
    assert producer.produced == [("reports", orjson.dumps({"evaluated_at": 1, "n_seen": 2}),
                                  b"host-1")]
    assert producer.calls == ["produce", "poll(0)", "flush"]
    assert publisher.published == 1 and failures(registry) == 0


@pytest.mark.parametrize(
    "refuse", [BufferError("queue full"), KafkaException(KafkaError(KafkaError._UNKNOWN_TOPIC))]
)
def test_a_refused_report_is_counted_and_logged_not_raised(refuse, caplog) -> None:
    publisher, made, registry = make(refuse=refuse)
    with caplog.at_level(logging.WARNING):
        assert publisher.publish({"n_seen": 1}) is False
    assert failures(registry) == 1
    assert made[0].calls == ["produce", "poll(0)"]
    assert "cannot queue a drift report for reports" in caplog.text


def test_a_failed_delivery_is_counted() -> None:
    publisher, _, registry = make(fail=True)
    assert publisher.publish({"n_seen": 1})  # queued; the delivery report says it failed
    assert failures(registry) == 1 and publisher.published == 0


def test_reports_still_queued_at_close_are_counted_as_failed() -> None:
    publisher, _, registry = make(unflushed=2)
    publisher.publish({"n_seen": 1})
    publisher.close()
    publisher.close()  # idempotent
    assert failures(registry) == 2
