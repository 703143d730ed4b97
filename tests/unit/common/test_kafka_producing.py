"""common.kafka.producing against a fake producer: every record queued once and in order, a
full queue waited out but only for so long, delivery reports collected."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from common.kafka import (
    DeliveryFailedError,
    DeliveryReports,
    QueueFullError,
    Record,
    produce_all,
)
from tests.unit.common.kafka_fakes import FakeProducer, message


def records(n: int, topic: str = "t") -> list[Record]:
    return [Record(topic, f"k{i}".encode(), f"v{i}".encode()) for i in range(n)]


def test_every_record_is_queued_once_in_order_with_its_headers_and_timestamp() -> None:
    producer = FakeProducer()
    sent = [Record("a", b"k0", b"v0"), Record("b", None, b"v1", [("h", b"x")])]
    assert produce_all(producer, sent, timeout=1.0, timestamp=123, poll_every=0) == 2
    first, second = producer.queue
    assert (first.topic, first.key, first.value) == ("a", b"k0", b"v0")
    assert "headers" not in first.kwargs  # the same call as a plain produce()
    assert (second.topic, second.key, second.value) == ("b", None, b"v1")
    assert second.kwargs["headers"] == [("h", b"x")]
    assert first.kwargs["timestamp"] == second.kwargs["timestamp"] == 123


def test_poll_follows_every_nth_record_and_the_last() -> None:
    producer = FakeProducer()
    produce_all(producer, records(5), timeout=1.0, poll_every=2)
    assert producer.calls == ["produce", "produce", "poll(0)", "produce", "produce", "poll(0)",
                              "produce", "poll(0)"]
    producer = FakeProducer()
    produce_all(producer, records(3), timeout=1.0, poll_every=0)
    assert producer.calls == ["produce"] * 3  # the caller polls


def test_a_full_queue_is_served_by_polling_then_the_same_record_is_retried() -> None:
    producer = FakeProducer(capacity=3, deliver_per_poll=2)
    sent = records(20)
    assert produce_all(producer, sent, timeout=5.0, poll_every=0) == 20
    assert producer.buffer_errors > 0
    producer.flush()
    assert [(r.key, r.value) for r in producer.delivered + producer.queue] == [
        (r.key, r.value) for r in sent]


def test_a_queue_that_stays_full_gives_up_with_a_clear_error() -> None:
    producer = FakeProducer(capacity=4, deliver_per_poll=0)  # the broker takes nothing
    with pytest.raises(QueueFullError, match=r"stayed full for 0.2 s: a record for t was not "
                                             r"queued \(4 before it were\)") as error:
        produce_all(producer, records(10), timeout=0.2, poll_every=0)
    assert error.value.queued == 4
    assert len(producer.queue) == 4


def test_timeout_zero_refuses_at_once_without_polling() -> None:
    producer = FakeProducer(capacity=1, deliver_per_poll=0)
    with pytest.raises(QueueFullError):
        produce_all(producer, records(2), timeout=0, poll_every=0)
    assert producer.calls == ["produce", "produce"]


def test_a_refused_produce_propagates_unchanged() -> None:
    refusal = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    producer = FakeProducer(refuse=refusal)
    with pytest.raises(KafkaException) as error:
        produce_all(producer, records(1), timeout=1.0)
    assert error.value is refusal


def test_delivery_reports_count_successes_and_keep_failures() -> None:
    producer = FakeProducer(fail_topics={"bad"})
    reports = DeliveryReports(keep=2)
    produce_all(producer, records(3, "good") + records(3, "bad"), timeout=1.0,
                on_delivery=reports)
    assert (reports.delivered, reports.failed) == (3, 3)
    assert reports.errors == ["bad: Local: Message timed out"] * 2  # only the first `keep`
    with pytest.raises(DeliveryFailedError, match="3 records failed and 0 were still "
                                                  "undelivered after the flush; 3 delivered"):
        reports.check()


def test_delivery_reports_check_counts_what_a_flush_left_undelivered() -> None:
    reports = DeliveryReports()
    reports(None, message("t", 0, 0))
    reports.check()  # all delivered: no error
    with pytest.raises(DeliveryFailedError, match="0 records failed and 2 were still"):
        reports.check(undelivered=2)
