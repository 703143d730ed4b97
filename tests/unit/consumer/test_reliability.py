"""Reliability pieces without a broker: the fault-injection hook (off by default), the batch budget
under max.poll.interval.ms, the lag monitor's committed offsets read through a consumer handle
(not the admin call that crashes librdkafka), and a timed-out transaction abort being retried."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from consumer.edge.clients import max_poll_interval, offsets_reader_config
from consumer.edge.delivery import AtLeastOnceSink, ExactlyOnceSink
from consumer.edge.lag import LagTracker
from consumer.exceptions import DeliveryError, FatalKafkaError, KafkaConfigError
from consumer.loop.budget import BatchBudget
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.records import OutRecord
from consumer.settings import ConsumerSettings
from consumer.testing.faults import ENV_VAR, FaultInjector


def test_no_fault_unless_the_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert ConsumerSettings().fault == ""
    assert FaultInjector.from_spec(ConsumerSettings().fault) is None
    assert FaultInjector.from_spec(" ") is None


def test_the_variable_reaches_the_settings_and_a_bad_spec_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, "before_commit:kill@3")
    fault = FaultInjector.from_spec(ConsumerSettings().fault)
    assert fault is not None and (fault.point, fault.nth) == ("before_commit", 3)
    monkeypatch.setenv(ENV_VAR, "before_commit:explode")
    with pytest.raises(ValidationError, match=ENV_VAR):
        ConsumerSettings()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("before_commit:kill@3", ("before_commit", "kill", 0.0, 3)),
        ("in_transaction:kill", ("in_transaction", "kill", 0.0, 1)),
        ("before_produce:sleep_per_event=0.001", ("before_produce", "sleep_per_event", 0.001, 1)),
        ("after_commit:sleep=2@5", ("after_commit", "sleep", 2.0, 5)),
    ],
)
def test_fault_specs_parse(spec: str, expected: tuple[str, str, float, int]) -> None:
    fault = FaultInjector.parse(spec)
    assert fault is not None
    assert (fault.point, fault.action, fault.seconds, fault.nth) == expected


@pytest.mark.parametrize("spec", ["nowhere:kill", "before_commit:explode", "before_commit",
                                  "before_commit:kill@0"])
def test_bad_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=ENV_VAR):
        FaultInjector.parse(spec)


def test_kill_fires_once_at_the_nth_hit_of_its_point(monkeypatch: pytest.MonkeyPatch) -> None:
    kills: list[int] = []
    monkeypatch.setattr("consumer.testing.faults.os.kill", lambda pid, sig: kills.append(sig))
    fault = FaultInjector("before_commit", "kill", nth=2)
    fault.at("in_transaction", 10)  # another point: not counted
    fault.at("before_commit", 10)
    assert kills == []
    fault.at("before_commit", 10)
    fault.at("before_commit", 10)
    assert len(kills) == 1


def test_sleep_per_event_scales_with_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("consumer.testing.faults.time.sleep", slept.append)
    FaultInjector("before_produce", "sleep_per_event", seconds=0.01).at("before_produce", 300)
    assert slept == [pytest.approx(3.0)]


def test_budget_starts_small_and_doubles_while_batches_are_fast() -> None:
    budget = BatchBudget(max_size=1000, poll_interval=300.0)
    sizes = [budget.size]
    for _ in range(5):
        budget.record(budget.size, 0.01)
        sizes.append(budget.size)
    assert sizes == [100, 200, 400, 800, 1000, 1000]


def test_budget_keeps_a_slow_model_inside_the_poll_interval() -> None:
    # 1 ms per event, 6 s max.poll.interval.ms: a quarter of it (1.5 s) fits 1500 events
    budget = BatchBudget(max_size=10_000, poll_interval=6.0)
    for _ in range(10):
        budget.record(budget.size, budget.size * 0.001)
    assert budget.size == 1500
    budget.record(1500, 1500 * 0.004)  # the model turns 4x slower: the next batch shrinks
    assert budget.size == 375 and 375 * 0.004 <= 0.25 * 6.0


def test_budget_never_goes_below_one_event() -> None:
    budget = BatchBudget(max_size=50, poll_interval=1.0)
    budget.record(1, 10.0)
    assert budget.size == 1
    with pytest.raises(ValueError, match="fraction"):
        BatchBudget(max_size=10, poll_interval=1.0, fraction=1.5)


def test_max_poll_interval_comes_from_kafka_config() -> None:
    assert max_poll_interval(ConsumerSettings()) == 300.0
    lowered = ConsumerSettings(kafka_config={"max.poll.interval.ms": "6000"})  # type: ignore[dict-item]
    assert max_poll_interval(lowered) == 6.0
    with pytest.raises(KafkaConfigError, match="max.poll.interval.ms"):
        max_poll_interval(ConsumerSettings(kafka_config={"max.poll.interval.ms": "soon"}))  # type: ignore[dict-item]


class FakeOffsetsReader:
    """`Consumer.committed` answered from a dict (-1001: nothing committed)."""

    def __init__(self, committed: dict[tuple[str, int], int]) -> None:
        self.committed_offsets = committed
        self.closed = False

    def committed(self, tps: list[TopicPartition], timeout: float = 0) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition,
                               self.committed_offsets.get((tp.topic, tp.partition), -1001))
                for tp in tps]

    def close(self) -> None:
        self.closed = True


class EndsOnlyAdmin:
    """An admin that answers list_offsets only: list_consumer_group_offsets must not be used."""

    def list_offsets(self, specs, isolation_level=None, request_timeout=None):  # noqa: ANN001
        from concurrent.futures import Future
        from types import SimpleNamespace

        out = {}
        for tp in specs:
            future: Future = Future()
            future.set_result(SimpleNamespace(offset=100))
            out[tp] = future
        return out

    def list_consumer_group_offsets(self, *args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("segfault-prone admin call used (librdkafka #5040)")

    def poll(self, timeout: float = 0) -> int:
        return 0


def test_lag_reads_committed_offsets_through_the_consumer_handle() -> None:
    registry = CollectorRegistry()
    reader = FakeOffsetsReader({("in", 0): 60})
    lag = LagTracker(EndsOnlyAdmin(), "g", ConsumerMetrics(registry), 5.0, offsets=reader)
    lag.on_assign([TopicPartition("in", 0)])
    assert lag.update() == {("in", 0): 40}
    lag.stop()
    assert reader.closed


def test_the_offsets_reader_never_joins_commits_or_waits_for_transactions() -> None:
    config = offsets_reader_config(ConsumerSettings(group_id="scorers"))
    assert config["group.id"] == "scorers"
    assert config["enable.auto.commit"] is False
    assert config["isolation.level"] == "read_uncommitted"  # no wait on open transactions


class AbortingProducer:
    """A transactional producer whose commit needs an abort, and whose abort times out
    `abort_timeouts` times (librdkafka: retriable, "retry call to resume") before it works."""

    def __init__(self, abort_timeouts: int, *, fatal: bool = False) -> None:
        self.abort_timeouts, self.fatal = abort_timeouts, fatal
        self.aborts = 0

    def begin_transaction(self) -> None:
        pass

    def produce(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        pass

    def poll(self, timeout: float = 0) -> int:
        return 0

    def send_offsets_to_transaction(self, *args) -> None:  # noqa: ANN002
        pass

    def commit_transaction(self, timeout: float) -> None:
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "messages timed out",
                                        txn_requires_abort=True))

    def abort_transaction(self, timeout: float) -> None:
        self.aborts += 1
        if self.aborts <= self.abort_timeouts:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "retry call to resume",
                                            retriable=True, fatal=self.fatal))


class GroupConsumer:
    def consumer_group_metadata(self) -> object:
        return object()


RECORD = [OutRecord("out", b"k", b"v")]


def test_a_timed_out_abort_is_retried_not_fatal() -> None:
    producer = AbortingProducer(abort_timeouts=2)
    registry = CollectorRegistry()
    sink = ExactlyOnceSink(producer, GroupConsumer(), ConsumerMetrics(registry))  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="not committed"):
        sink.write_batch(RECORD, [], [TopicPartition("in", 0, 1)])
    assert producer.aborts == 3
    assert registry.get_sample_value("diamond_transactions_aborted_total") == 1


def test_an_abort_that_keeps_failing_is_fatal() -> None:
    for producer in (AbortingProducer(abort_timeouts=99), AbortingProducer(1, fatal=True)):
        sink = ExactlyOnceSink(producer, GroupConsumer(), ConsumerMetrics(CollectorRegistry()))  # type: ignore[arg-type]
        with pytest.raises(FatalKafkaError, match="abort_transaction failed"):
            sink.write_batch(RECORD, [], [TopicPartition("in", 0, 1)])


class HangingProducer(AbortingProducer):
    """send_offsets_to_transaction ignores its timeout and blocks (librdkafka #5456)."""

    def __init__(self) -> None:
        super().__init__(abort_timeouts=0)
        self.release = threading.Event()

    def send_offsets_to_transaction(self, *args) -> None:  # noqa: ANN002
        self.release.wait(30)


def test_a_transactional_call_that_ignores_its_timeout_is_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("consumer.edge.delivery.TXN_TIMEOUT", 0.2)
    monkeypatch.setattr("consumer.edge.delivery.HANG_GRACE", 0.2)
    producer = HangingProducer()
    sink = ExactlyOnceSink(producer, GroupConsumer(), ConsumerMetrics(CollectorRegistry()))  # type: ignore[arg-type]
    try:
        # the producer call never returns until released: raising at all proves the watchdog
        with pytest.raises(FatalKafkaError, match="has not returned after 0 s"):
            sink.write_batch(RECORD, [], [TopicPartition("in", 0, 1)])
    finally:
        producer.release.set()


class RefusingProducer:
    """produce() raises at once, as librdkafka does for a topic it knows is not authorised."""

    def __init__(self, fatal: bool = False) -> None:
        self.fatal = fatal
        self.flushed = False

    def produce(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                        "Unable to produce message", fatal=self.fatal))

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = 0) -> int:
        self.flushed = True
        return 0


class CommitRecorder:
    def __init__(self) -> None:
        self.commits: list[object] = []

    def commit(self, offsets, asynchronous=True):  # noqa: ANN001
        self.commits.append(offsets)
        return offsets


def test_at_least_once_turns_a_refused_produce_into_a_retried_batch() -> None:
    registry = CollectorRegistry()
    consumer = CommitRecorder()
    sink = AtLeastOnceSink(RefusingProducer(), consumer, ConsumerMetrics(registry))  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="TOPIC_AUTHORIZATION_FAILED|not committed"):
        sink.write_batch(RECORD, [], [TopicPartition("in", 0, 1)])
    assert consumer.commits == []  # nothing committed past the unwritten prediction
    assert registry.get_sample_value("diamond_delivery_failures_total") == 1
    metrics = ConsumerMetrics(CollectorRegistry())
    fatal = AtLeastOnceSink(RefusingProducer(fatal=True), consumer, metrics)  # type: ignore[arg-type]
    with pytest.raises(FatalKafkaError):
        fatal.write_batch(RECORD, [], [TopicPartition("in", 0, 1)])
