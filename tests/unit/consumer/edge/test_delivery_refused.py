"""Issue 12 at the sinks: a record refused on its own names its event (point 1), and each
batch has its own delivery reports, with nothing left queued behind a failed one (point 7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from consumer.edge.clients import build_producer, producer_config
from consumer.edge.delivery import (
    MESSAGE_TIMEOUT_MS,
    TXN_TIMEOUT,
    AtLeastOnceSink,
    ExactlyOnceSink,
    OutputRejectedError,
)
from consumer.exceptions import DeliveryError
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.records import OutRecord
from consumer.settings import ConsumerSettings

PREDICTION = OutRecord("out", b"k", b'{"event_id":"a","source_partition":2,"source_offset":41}')
OTHER = OutRecord("out", b"k", b'{"event_id":"b","source_partition":2,"source_offset":42}')
DEAD = OutRecord("dlq", b"k", b"{", [("dlq.reason", b"not_json"), ("dlq.source.topic", b"in"),
                                     ("dlq.source.partition", b"0"), ("dlq.source.offset", b"7")])
OFFSETS = [TopicPartition("in", 2, 43)]


class Msg:
    """A delivered (or refused) record as librdkafka hands it to the delivery callback."""

    def __init__(self, record: OutRecord) -> None:
        self.record = record

    def topic(self) -> str:
        return self.record.topic

    def value(self) -> bytes | None:
        return self.record.value  # type: ignore[return-value]

    def headers(self) -> Any:
        return self.record.headers


class Producer:
    """Queues delivery callbacks; `refuse` decides per record: None (delivered), a KafkaError
    in the report, or ("produce", KafkaError) raised by produce() itself. `commit_error`: what
    commit_transaction raises after a refused report (the broker's per-record rejection)."""

    def __init__(self, refuse: Callable[[OutRecord], Any] = lambda r: None,
                 serve_on_flush: bool = True) -> None:
        self.refuse = refuse
        self.serve_on_flush = serve_on_flush
        self.queued: list[tuple[Callable[..., None], OutRecord]] = []
        self.calls: list[str] = []
        self.aborted = False
        self.doomed = False

    def produce(self, topic, value=None, key=None, headers=None, on_delivery=None) -> None:
        record = OutRecord(topic, key, value, headers)
        verdict = self.refuse(record)
        if isinstance(verdict, tuple):
            raise KafkaException(verdict[1])
        self.calls.append("produce")
        self.queued.append((on_delivery, record))
        self.doomed = self.doomed or verdict is not None  # the transaction cannot commit

    def serve(self) -> None:
        queued, self.queued = self.queued, []
        for callback, record in queued:
            err = self.refuse(record)
            if err is None and self.aborted:
                err = KafkaError(KafkaError._PURGE_QUEUE)
            callback(err, Msg(record))

    def poll(self, timeout: float = 0) -> int:
        self.calls.append("poll")
        if not self.serve_on_flush:  # reports arrive only when polled (the transactional path)
            self.serve()
        return 0

    def flush(self, timeout: float = 0) -> int:
        self.calls.append("flush")
        self.serve()
        return 0

    def init_transactions(self, timeout: float) -> None: ...

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def send_offsets_to_transaction(self, offsets, group, timeout) -> None: ...

    def commit_transaction(self, timeout: float) -> None:
        # the broker refused a record: the transaction can only be aborted; its reports stay
        # queued until the application polls
        if self.doomed:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "refused",
                                            txn_requires_abort=True))
        self.queued.clear()  # delivered (only errors are reported)
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")  # purges what is queued: reported as such when polled
        self.aborted = True
        self.serve_on_flush = False


class Consumer:
    def __init__(self) -> None:
        self.commits: list[Any] = []

    def consumer_group_metadata(self) -> object:
        return object()

    def commit(self, offsets, asynchronous=True):
        self.commits.append(offsets)
        return offsets


def sink(cls, producer: Producer) -> tuple[Any, Consumer]:
    consumer = Consumer()
    return cls(producer, consumer, ConsumerMetrics(CollectorRegistry())), consumer


def too_large(record: OutRecord) -> KafkaError | None:
    if record is PREDICTION or record.value == PREDICTION.value:
        return KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Broker: Message size too large")
    return None


def test_a_report_refusing_one_record_names_its_event_at_least_once() -> None:
    s, consumer = sink(AtLeastOnceSink, Producer(too_large))
    with pytest.raises(OutputRejectedError, match=r"input\[2\]@41") as caught:
        s.write_batch([OTHER, PREDICTION], [DEAD], OFFSETS)
    assert caught.value.sources.keys() == {(None, 2, 41)}
    assert consumer.commits == []


def test_a_refused_dead_letter_names_its_source_from_its_headers() -> None:
    producer = Producer(lambda r: KafkaError(KafkaError.INVALID_RECORD) if r.topic == "dlq"
                        else None)
    s, _ = sink(AtLeastOnceSink, producer)
    with pytest.raises(OutputRejectedError) as caught:
        s.write_batch([OTHER], [DEAD], OFFSETS)
    assert caught.value.sources.keys() == {("in", 0, 7)}


def test_a_broker_refusal_in_a_transaction_names_its_event_after_the_abort() -> None:
    producer = Producer(too_large)  # its reports wait in the queue until after the abort
    s, _ = sink(ExactlyOnceSink, producer)
    with pytest.raises(OutputRejectedError) as caught:
        s.write_batch([OTHER, PREDICTION], [DEAD], OFFSETS)
    assert caught.value.sources.keys() == {(None, 2, 41)}
    assert producer.calls.index("abort") < len(producer.calls) - 1  # served after the abort
    assert producer.calls[-1] == "poll" and producer.queued == []


@pytest.mark.parametrize("cls", [AtLeastOnceSink, ExactlyOnceSink])
def test_produce_refusing_a_record_names_that_record(cls) -> None:
    def refuse(record: OutRecord) -> Any:
        if record.value == PREDICTION.value:
            return ("produce", KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "too large"))
        return None

    producer = Producer(refuse)
    s, consumer = sink(cls, producer)
    with pytest.raises(OutputRejectedError) as caught:
        s.write_batch([OTHER, PREDICTION], [DEAD], OFFSETS)
    assert caught.value.sources.keys() == {(None, 2, 41)}
    assert producer.queued == []  # what was queued before it is not left behind
    assert consumer.commits == []


def test_other_failures_stay_plain_delivery_errors() -> None:
    producer = Producer(lambda r: KafkaError(KafkaError._MSG_TIMED_OUT))
    s, _ = sink(AtLeastOnceSink, producer)
    with pytest.raises(DeliveryError) as caught:
        s.write_batch([OTHER], [], OFFSETS)
    assert not isinstance(caught.value, OutputRejectedError)


def test_a_late_report_of_a_failed_batch_does_not_fail_the_next_one() -> None:
    producer = Producer()
    s, consumer = sink(AtLeastOnceSink, producer)
    assert s.write_batch([OTHER], [], OFFSETS) is True
    late_callback = s.reports  # the first batch's reports object
    # a report of the first batch arrives while the second one is in flight
    original_flush = producer.flush

    def flush_with_a_late_report(timeout: float = 0) -> int:
        late_callback(KafkaError(KafkaError._MSG_TIMED_OUT), Msg(OTHER))
        return original_flush(timeout)

    producer.flush = flush_with_a_late_report  # type: ignore[method-assign]
    assert s.write_batch([PREDICTION], [], [TopicPartition("in", 2, 44)]) is True
    assert len(consumer.commits) == 2


def test_the_message_timeout_is_shorter_than_the_flush_wait() -> None:
    for guarantee in ("exactly-once", "at-least-once"):
        config = producer_config(ConsumerSettings(guarantee=guarantee))
        assert config["message.timeout.ms"] == MESSAGE_TIMEOUT_MS
        assert MESSAGE_TIMEOUT_MS < TXN_TIMEOUT * 1000
        if guarantee == "exactly-once":
            assert MESSAGE_TIMEOUT_MS <= config["transaction.timeout.ms"]


def test_a_lower_transaction_timeout_lowers_the_message_timeout_with_it() -> None:
    """librdkafka refuses message.timeout.ms above transaction.timeout.ms (the chaos runs set
    10 s): the producer must still build."""
    settings = ConsumerSettings(kafka_config={"transaction.timeout.ms": "10000"})
    config = producer_config(settings)
    assert config["message.timeout.ms"] == 10_000
    build_producer(settings).flush(0)  # librdkafka accepts it (no broker needed)
    relaxed = ConsumerSettings(guarantee="at-least-once",
                               kafka_config={"transaction.timeout.ms": "10000"})
    assert producer_config(relaxed)["message.timeout.ms"] == MESSAGE_TIMEOUT_MS
