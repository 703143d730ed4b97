"""A producer queue that stays full fails the batch after a bounded wait, in both guarantees:
nothing is committed (at-least-once) and the transaction is aborted (exactly-once)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry

from consumer.edge.delivery import AtLeastOnceSink, ExactlyOnceSink
from consumer.exceptions import DeliveryError
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.records import OutRecord

OFFSETS = [TopicPartition("in", 0, 3)]
RECORDS = [OutRecord("out", f"k{i}".encode(), b"v") for i in range(3)]


class StuckProducer:
    """Takes `capacity` records, then its queue stays full: the broker takes nothing."""

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self.queued: list[Any] = []
        self.calls: list[str] = []

    def produce(self, topic: str, **kwargs: Any) -> None:
        if len(self.queued) >= self.capacity:
            raise BufferError("Local: Queue full")
        self.queued.append((topic, kwargs))

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = 0) -> int:
        return len(self.queued)

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def send_offsets_to_transaction(self, *args: Any) -> None:
        self.calls.append("send_offsets")

    def commit_transaction(self, timeout: float) -> None:
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")


class CommitRecorder:
    def __init__(self) -> None:
        self.commits: list[object] = []

    def commit(self, offsets: Any = None, asynchronous: bool = True) -> Any:
        self.commits.append(offsets)
        return offsets

    def consumer_group_metadata(self) -> object:
        return object()


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("consumer.edge.delivery.TXN_TIMEOUT", 0.2)


def test_at_least_once_fails_the_batch_and_commits_nothing() -> None:
    registry = CollectorRegistry()
    consumer = CommitRecorder()
    sink = AtLeastOnceSink(StuckProducer(), consumer, ConsumerMetrics(registry))  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="_QUEUE_FULL.*stayed full for 0.2 s.*not committed"):
        sink.write_batch(RECORDS, [], OFFSETS)
    assert consumer.commits == []
    assert registry.get_sample_value("diamond_delivery_failures_total") == 1


def test_exactly_once_aborts_the_transaction() -> None:
    registry = CollectorRegistry()
    producer = StuckProducer()
    sink = ExactlyOnceSink(producer, CommitRecorder(), ConsumerMetrics(registry))  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="transaction aborted.*_QUEUE_FULL"):
        sink.write_batch(RECORDS, [], OFFSETS)
    assert producer.calls == ["begin", "abort"]  # no offsets sent, nothing committed
    assert registry.get_sample_value("diamond_transactions_aborted_total") == 1
