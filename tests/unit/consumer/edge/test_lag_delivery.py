"""Lag from the admin API; rewinds; the sinks' failure paths with a fake producer."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec
from consumer_fakes import FakePositions
from prometheus_client import CollectorRegistry

from consumer.edge.delivery import AtLeastOnceSink, ExactlyOnceSink
from consumer.edge.errors import ClientErrors
from consumer.edge.lag import LagTracker
from consumer.edge.offsets import rewind
from consumer.exceptions import DeliveryError, FatalKafkaError
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.records import OutRecord


class FakeAdmin:
    """`list_consumer_group_offsets` and `list_offsets` answered from dicts, as futures."""

    def __init__(self, committed, latest, earliest) -> None:
        self.committed, self.latest, self.earliest = committed, latest, earliest
        self.isolation: list[object] = []

    def list_consumer_group_offsets(self, request, request_timeout=None):
        (group,) = request
        tps = [
            TopicPartition(tp.topic, tp.partition, self.committed.get((tp.topic, tp.partition), -1))
            for tp in group.topic_partitions
        ]
        return {group.group_id: _done(SimpleNamespace(topic_partitions=tps))}

    def list_offsets(self, specs, isolation_level=None, request_timeout=None):
        self.isolation.append(isolation_level)
        out = {}
        for tp, spec in specs.items():
            table = self.latest if spec == OffsetSpec.latest() else self.earliest
            out[tp] = _done(SimpleNamespace(offset=table[(tp.topic, tp.partition)]))
        return out

    def poll(self, timeout: float = 0) -> int:
        return 0


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def test_lag_is_last_stable_offset_minus_committed() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    admin = FakeAdmin(
        committed={("in", 1): 40},
        latest={("in", 0): 100, ("in", 1): 50, ("in", 2): 30},
        earliest={("in", 0): 0, ("in", 1): 10, ("in", 2): 20},
    )
    lag = LagTracker(admin, "g", metrics, interval=5.0)
    assert lag.update() == {}  # nothing assigned yet
    lag.on_assign([TopicPartition("in", p) for p in range(3)])
    lag.on_commit([TopicPartition("in", 0, 90)])
    # p0: ours (90) is newer than the group's (none); p1: the group's; p2: nothing -> earliest
    assert lag.update() == {("in", 0): 10, ("in", 1): 10, ("in", 2): 10}
    assert set(admin.isolation) == {IsolationLevel.READ_COMMITTED}
    assert registry.get_sample_value("diamond_consumer_lag_total") == 30
    p1 = {"topic": "in", "partition": "1"}
    assert registry.get_sample_value("diamond_committed_offset", p1) == 40
    assert lag.committed() == {("in", 0): 90, ("in", 1): 40}
    lag.on_revoke([TopicPartition("in", 0)])
    p0 = {"topic": "in", "partition": "0"}
    assert registry.get_sample_value("diamond_consumer_lag", p0) is None
    assert registry.get_sample_value("diamond_committed_offset", p0) is None
    assert registry.get_sample_value("diamond_consumer_lag_total") == 20
    assert lag.assigned() == {("in", 1), ("in", 2)}


def test_lag_thread_measures_on_assign_and_stops() -> None:
    registry = CollectorRegistry()
    admin = FakeAdmin(committed={}, latest={("in", 0): 7}, earliest={("in", 0): 2})
    lag = LagTracker(admin, "g", ConsumerMetrics(registry), interval=60.0).start()
    try:
        lag.on_assign([TopicPartition("in", 0)])  # wakes the thread: no 60 s wait
        deadline = time.monotonic() + 5
        while registry.get_sample_value("diamond_consumer_lag_total") != 5:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        lag.stop()
    assert lag._thread is not None and not lag._thread.is_alive()


def test_rewind_goes_to_committed_else_to_the_batch_start() -> None:
    fake = FakePositions(committed_offsets={("in", 0): 95})
    rewind(fake, {("in", 0): 100, ("in", 1): 7})  # type: ignore[arg-type]
    assert sorted(fake.seeks) == [("in", 0, 95), ("in", 1, 7)]


class FakeProducer:
    """Records calls; `raises[name]` makes that call raise once."""

    def __init__(self, deliver_error: KafkaError | None = None, remaining: int = 0) -> None:
        self.calls: list[str] = []
        self.raises: dict[str, KafkaException] = {}
        self.deliver_error = deliver_error
        self.remaining = remaining
        self.pending: list[Callable[..., Any]] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.raises:
            raise self.raises.pop(name)

    def produce(self, topic, value, key, headers=None, on_delivery=None) -> None:
        self.calls.append("produce")
        self.pending.append(on_delivery)

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = 0) -> int:
        self.calls.append("flush")
        for callback in self.pending:
            if self.deliver_error is not None:
                callback(self.deliver_error, _Msg())
        self.pending.clear()
        return self.remaining

    def init_transactions(self, timeout: float) -> None:
        self._call("init_transactions")

    def begin_transaction(self) -> None:
        self._call("begin_transaction")

    def send_offsets_to_transaction(self, offsets, group, timeout) -> None:
        self._call("send_offsets_to_transaction")

    def commit_transaction(self, timeout: float) -> None:
        self._call("commit_transaction")

    def abort_transaction(self, timeout: float) -> None:
        self._call("abort_transaction")


class _Msg:
    def topic(self) -> str:
        return "out"


class FakeConsumer:
    """Records each commit's offsets (`commits`) and whether it was asynchronous (`modes`)."""

    def __init__(self, commit_result: list[Any] | None = None,
                 raises: KafkaException | None = None) -> None:
        self.commits: list[list[TopicPartition]] = []
        self.modes: list[str] = []
        self.commit_result = commit_result
        self.raises = raises

    def consumer_group_metadata(self) -> object:
        return object()

    def commit(self, offsets, asynchronous=True):
        if self.raises is not None:
            raise self.raises
        self.commits.append(offsets)
        self.modes.append("async" if asynchronous else "sync")
        if asynchronous:
            return None  # librdkafka reports the result to on_commit later
        return self.commit_result if self.commit_result is not None else offsets


RECORDS = [OutRecord("out", b"k", b"v"), OutRecord("out", b"k2", b"v2")]
DLQ = [OutRecord("dlq", None, b"x", [("dlq.reason", b"not_json")])]
OFFSETS = [TopicPartition("in", 0, 10)]


def _kafka_error(**flags: bool) -> KafkaException:
    return KafkaException(KafkaError(KafkaError._STATE, "injected", **flags))


def sinks(cls, producer, consumer=None):
    registry = CollectorRegistry()
    return cls(producer, consumer or FakeConsumer(), ConsumerMetrics(registry)), registry


def test_exactly_once_happy_path_is_one_transaction() -> None:
    producer = FakeProducer()
    sink, _ = sinks(ExactlyOnceSink, producer)
    assert sink.write_batch(RECORDS, DLQ, OFFSETS) is True
    assert producer.calls == [
        "begin_transaction", "produce", "produce", "produce", "send_offsets_to_transaction",
        "commit_transaction",
    ]


def test_exactly_once_abortable_error_aborts_and_raises_delivery_error() -> None:
    producer = FakeProducer()
    producer.raises["commit_transaction"] = _kafka_error(txn_requires_abort=True)
    sink, registry = sinks(ExactlyOnceSink, producer)
    with pytest.raises(DeliveryError, match="not committed"):
        sink.write_batch(RECORDS, DLQ, OFFSETS)
    assert producer.calls[-1] == "abort_transaction"
    assert registry.get_sample_value("diamond_transactions_aborted_total") == 1


def test_exactly_once_retriable_commit_is_retried() -> None:
    producer = FakeProducer()
    producer.raises["commit_transaction"] = _kafka_error(retriable=True)
    sink, _ = sinks(ExactlyOnceSink, producer)
    assert sink.write_batch(RECORDS, [], OFFSETS) is True
    assert producer.calls.count("commit_transaction") == 2
    assert "abort_transaction" not in producer.calls


def test_exactly_once_fenced_is_fatal() -> None:
    producer = FakeProducer()
    producer.raises["send_offsets_to_transaction"] = _kafka_error(fatal=True)
    sink, _ = sinks(ExactlyOnceSink, producer)
    with pytest.raises(FatalKafkaError):
        sink.write_batch(RECORDS, [], OFFSETS)
    assert "abort_transaction" not in producer.calls


def test_exactly_once_init_failure_is_fatal() -> None:
    producer = FakeProducer()
    producer.raises["init_transactions"] = _kafka_error()
    sink, _ = sinks(ExactlyOnceSink, producer)
    with pytest.raises(FatalKafkaError, match="init_transactions"):
        sink.start()


def test_at_least_once_commits_after_every_delivery_succeeded() -> None:
    producer, consumer = FakeProducer(), FakeConsumer()
    sink, _ = sinks(AtLeastOnceSink, producer, consumer)
    assert sink.write_batch(RECORDS, DLQ, OFFSETS) is True
    assert producer.calls == ["produce", "produce", "produce", "flush"]
    assert consumer.commits == [OFFSETS]
    assert consumer.modes == ["async"]  # requested once the outputs are acknowledged


def test_at_least_once_settles_the_last_requested_offsets_synchronously_once() -> None:
    consumer = FakeConsumer()
    sink, _ = sinks(AtLeastOnceSink, FakeProducer(), consumer)
    sink.write_batch(RECORDS, [], [TopicPartition("in", 0, 10), TopicPartition("in", 1, 4)])
    sink.write_batch(RECORDS, [], [TopicPartition("in", 0, 12)])
    sink.settle_commits()
    assert consumer.modes == ["async", "async", "sync"]
    settled = {(tp.topic, tp.partition): tp.offset for tp in consumer.commits[-1]}
    assert settled == {("in", 0): 12, ("in", 1): 4}  # the latest per partition
    sink.settle_commits()  # nothing requested since: no commit
    assert consumer.modes == ["async", "async", "sync"]


def test_exactly_once_has_no_commit_to_settle_outside_its_transactions() -> None:
    producer, consumer = FakeProducer(), FakeConsumer()
    sink, _ = sinks(ExactlyOnceSink, producer, consumer)
    sink.write_batch(RECORDS, [], OFFSETS)
    sink.settle_commits()
    assert consumer.commits == [] and "send_offsets_to_transaction" in producer.calls


@pytest.mark.parametrize(
    "producer",
    [FakeProducer(deliver_error=KafkaError(KafkaError._MSG_TIMED_OUT)), FakeProducer(remaining=1)],
)
def test_at_least_once_never_commits_past_a_failed_delivery(
    producer: FakeProducer, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = FakeConsumer()
    sink, registry = sinks(AtLeastOnceSink, producer, consumer)
    with pytest.raises(DeliveryError, match="the batch is not committed"):
        sink.write_batch(RECORDS, DLQ, OFFSETS)
    assert consumer.commits == []
    if producer.deliver_error is not None:
        assert registry.get_sample_value("diamond_delivery_failures_total") == 3


def test_at_least_once_commit_errors_are_reported_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = FakeConsumer(raises=KafkaException(KafkaError(KafkaError._STATE)))
    sink, _ = sinks(AtLeastOnceSink, FakeProducer(), refused)
    assert sink.write_batch(RECORDS, [], OFFSETS) is False  # the request itself was refused

    failed = SimpleNamespace(
        topic="in", partition=0, offset=10, error=KafkaError(KafkaError.REBALANCE_IN_PROGRESS)
    )
    consumer = FakeConsumer(commit_result=[failed])
    sink, _ = sinks(AtLeastOnceSink, FakeProducer(), consumer)
    assert sink.write_batch(RECORDS, [], OFFSETS) is True
    sink.settle_commits()  # the synchronous commit fails: logged, not raised
    assert consumer.modes == ["async", "sync"]
    assert "offset commit failed for in[0]" in caplog.text


def test_a_failed_asynchronous_commit_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    errors = ClientErrors(ConsumerMetrics(registry))
    errors.on_commit(None, [TopicPartition("in", 0, 10)])  # success: nothing
    assert registry.get_sample_value("diamond_kafka_errors_total") == 0
    errors.on_commit(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [TopicPartition("in", 0, 10)])
    assert registry.get_sample_value("diamond_kafka_errors_total") == 1
    assert "offset commit failed" in caplog.text and "in[0]@10" in caplog.text


class RecordingFault:
    """A fault hook that records where the sink reached it (the chaos runs kill or sleep)."""

    def __init__(self) -> None:
        self.points: list[tuple[str, int]] = []

    def at(self, point: str, records: int) -> None:
        self.points.append((point, records))


@pytest.mark.parametrize("cls", [ExactlyOnceSink, AtLeastOnceSink])
def test_the_injected_fault_hook_sees_every_point_of_a_batch_in_order(cls) -> None:
    fault = RecordingFault()
    sink = cls(FakeProducer(), FakeConsumer(), ConsumerMetrics(CollectorRegistry()), fault=fault)
    assert sink.write_batch(RECORDS, DLQ, OFFSETS) is True
    assert fault.points == [
        ("before_produce", 3), ("in_transaction", 3), ("before_commit", 3), ("after_commit", 3)
    ]


def test_send_queues_the_records_and_complete_commits_them_in_both_modes() -> None:
    # the loop's thread sends; the writer thread completes (consumer.loop.overlap)
    producer = FakeProducer()
    sink, _ = sinks(ExactlyOnceSink, producer)
    sink.send(RECORDS, DLQ)
    assert producer.calls == ["begin_transaction", "produce", "produce", "produce"]
    assert sink.complete(OFFSETS) is True
    assert producer.calls[4:] == ["send_offsets_to_transaction", "commit_transaction"]

    producer, consumer = FakeProducer(), FakeConsumer()
    sink, _ = sinks(AtLeastOnceSink, producer, consumer)
    sink.send(RECORDS, [])
    assert producer.calls == ["produce", "produce"] and consumer.commits == []
    assert sink.complete(OFFSETS) is True
    assert "flush" in producer.calls and consumer.commits == [OFFSETS]


def test_an_abortable_error_in_complete_aborts_the_transaction_send_began() -> None:
    producer = FakeProducer()
    producer.raises["send_offsets_to_transaction"] = _kafka_error(txn_requires_abort=True)
    sink, registry = sinks(ExactlyOnceSink, producer)
    sink.send(RECORDS, [])
    with pytest.raises(DeliveryError, match="not committed"):
        sink.complete(OFFSETS)
    assert producer.calls[-1] == "abort_transaction"
    assert registry.get_sample_value("diamond_transactions_aborted_total") == 1
