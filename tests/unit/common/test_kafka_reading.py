"""common.kafka.reading against a fake consumer: read to the high watermarks at the start,
wait at an open transaction, fail clearly; a group's committed offsets without joining it."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, TopicPartition

from common.kafka import (
    GroupOffsets,
    ReadError,
    ReadTimeoutError,
    committed_offsets,
    iter_to_end,
    read_to_end,
)
from tests.unit.common.kafka_fakes import FakeLog


def values(log: FakeLog, *, timeout: float = 5.0, config: dict | None = None) -> list[bytes]:
    messages = read_to_end("b:1", log.topic, timeout=timeout, config=config,
                           consumer_factory=log.factory)
    return [m.value() for m in messages]


def test_every_partition_is_read_from_the_beginning_to_its_end() -> None:
    log = FakeLog("t", {0: [b"a", b"b"], 1: [], 2: [b"c"]})
    assert sorted(values(log)) == [b"a", b"b", b"c"]
    assert all(c.closed for c in log.consumers)


def test_records_written_after_the_start_are_not_read() -> None:
    log = FakeLog("t", {0: [b"a"], 1: [b"b"]}, late={0: [b"late-0"], 1: [b"late-1"]})
    assert sorted(values(log)) == [b"a", b"b"]


def test_decode_turns_each_message_into_a_value() -> None:
    log = FakeLog("t", {0: [b"1", b"2"]})
    assert read_to_end("b:1", "t", timeout=5.0, decode=lambda m: int(m.value()),
                       consumer_factory=log.factory) == [1, 2]


def test_the_reader_reads_committed_and_never_subscribes_nor_commits() -> None:
    log = FakeLog("t", {0: [b"a"]})
    values(log, config={"fetch.max.bytes": 1024, "group.id": "mine"})
    probe, reader = log.consumers
    assert probe.config["isolation.level"] == "read_uncommitted"  # the true end: open txns too
    assert reader.config["isolation.level"] == "read_committed"
    assert reader.config["enable.auto.commit"] is False
    assert reader.config["fetch.max.bytes"] == 1024 and reader.config["group.id"] == "mine"
    assert not reader.subscribed


def test_an_open_transaction_is_waited_for_until_it_completes() -> None:
    # partition 0 has a transaction open at offsets 1-2; it commits after 3 consume() calls
    log = FakeLog("t", {0: [b"a", b"in-txn-1", b"in-txn-2"]}, stable={0: 1}, resolve_after=3)
    assert values(log) == [b"a", b"in-txn-1", b"in-txn-2"]


def test_a_transaction_left_open_is_a_read_timeout() -> None:
    log = FakeLog("t", {0: [b"a", b"in-txn"]}, stable={0: 1})
    with pytest.raises(ReadTimeoutError, match=r"t: partitions not read .* \{0: 2\} in 0.2 s"):
        values(log, timeout=0.2)
    assert issubclass(ReadTimeoutError, TimeoutError)
    assert all(c.closed for c in log.consumers)


def test_a_trailing_transaction_marker_ends_the_read_without_an_eof_event() -> None:
    log = FakeLog("t", {0: [b"a", b"b", None]})  # None: the commit marker
    assert values(log, config={"enable.partition.eof": False}) == [b"a", b"b"]


def test_a_consumer_error_is_a_read_error_naming_the_partition() -> None:
    log = FakeLog("t", {0: [b"a"]}, errors=[KafkaError(KafkaError._TRANSPORT)])
    with pytest.raises(ReadError, match=r"reading t\[0\]: Local: Broker transport failure"):
        values(log)


def test_no_metadata_is_a_read_error_and_the_probe_is_closed() -> None:
    log = FakeLog("t", {0: [b"a"]}, silent=True)
    with pytest.raises(ReadError, match="t: no partitions or high watermarks within 5 s"):
        values(log)
    assert [c.closed for c in log.consumers] == [True]


def test_a_missing_or_empty_topic_reads_nothing_without_a_reader() -> None:
    log = FakeLog("t", {0: [], 1: []})
    assert values(log) == []
    assert read_to_end("b:1", "other", timeout=1.0, consumer_factory=log.factory) == []
    assert len(log.consumers) == 2  # the two probes, no reader


def test_iter_to_end_stops_where_the_caller_stops_and_closes_the_reader() -> None:
    log = FakeLog("t", {0: [b"a", b"b", b"c"]})
    messages = iter_to_end("b:1", "t", timeout=5.0, consumer_factory=log.factory)
    assert next(messages).value() == b"a"
    messages.close()
    assert all(c.closed for c in log.consumers)


def test_committed_offsets_are_raw_and_leave_out_partitions_in_error() -> None:
    log = FakeLog("t", {0: [], 1: [], 2: []})
    consumer = log.factory({})
    consumer.committed_offsets = {("t", 0): 7}
    consumer.committed_errors = {("t", 2)}
    tps = [TopicPartition("t", p) for p in range(3)]
    assert committed_offsets(consumer, tps, timeout=1.0) == {("t", 0): 7, ("t", 1): -1001}


def test_group_offsets_read_through_a_never_subscribed_consumer_of_the_group() -> None:
    log = FakeLog("t", {0: [b"a"] * 5, 1: [b"b"] * 3})
    offsets = GroupOffsets("b:1", "scorers", consumer_factory=log.factory)
    assert log.consumers == []  # no client before the first read
    with offsets:
        assert offsets.committed("t", 2) == {0: 0, 1: 0}  # nothing committed yet: 0
        (consumer,) = log.consumers
        consumer.committed_offsets = {("t", 0): 4, ("t", 1): 3}
        assert offsets.committed("t", [0, 1]) == {0: 4, 1: 3}
        assert offsets.total("t", 2) == 7
        assert offsets.high_watermarks("t", 2) == {0: 5, 1: 3}
    assert consumer.closed and not consumer.subscribed
    assert consumer.config["group.id"] == "scorers"
    assert consumer.config["isolation.level"] == "read_uncommitted"  # no wait on open txns
    assert consumer.config["enable.auto.commit"] is False
    offsets.close()  # idempotent
