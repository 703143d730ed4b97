"""common.kafka on the real broker: the broker check, idempotent topic creation, the bounded
produce retry, reading to the end (transactions included) and a group's committed offsets."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from common.kafka import (
    BrokerUnavailableError,
    DeliveryReports,
    GroupOffsets,
    QueueFullError,
    ReadTimeoutError,
    Record,
    cluster_metadata,
    committed_offsets,
    create_topics,
    delete_topics,
    iter_to_end,
    partition_counts,
    produce_all,
    read_to_end,
)
from infra.kafka import free_ports

pytestmark = pytest.mark.integration


class CountingProducer:
    """A real producer that counts the BufferErrors its produce() raised."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.producer = Producer(config)
        self.buffer_errors = 0

    def produce(self, *args: Any, **kwargs: Any) -> None:
        try:
            self.producer.produce(*args, **kwargs)
        except BufferError:
            self.buffer_errors += 1
            raise

    def poll(self, timeout: float = 0) -> int:
        return self.producer.poll(timeout)

    def flush(self, timeout: float) -> int:
        return self.producer.flush(timeout)


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    reports = DeliveryReports()
    produce_all(producer, [Record(topic, None, v) for v in values], timeout=30,
                on_delivery=reports)
    reports.check(undelivered=producer.flush(30))


def test_cluster_metadata_of_the_broker_and_of_a_silent_port(
    bootstrap_servers: str, kafka_admin: AdminClient
) -> None:
    metadata = cluster_metadata(kafka_admin, bootstrap_servers=bootstrap_servers, timeout=10)
    assert len(metadata.brokers) >= 1
    (port,) = free_ports(1)
    silent = f"127.0.0.1:{port}"
    with pytest.raises(BrokerUnavailableError, match=f"no Kafka broker answered at {silent} "
                                                     "within 1 s"):
        cluster_metadata(AdminClient({"bootstrap.servers": silent}), bootstrap_servers=silent,
                         timeout=1, hint="--bootstrap-servers")


def test_create_topics_is_idempotent_and_waits_for_every_leader(
    kafka_admin: AdminClient,
) -> None:
    names = [f"toolkit-create-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    try:
        first = create_topics(kafka_admin, names, partitions=3, replication_factor=1,
                              config={"retention.ms": "3600000"}, timeout=30)
        again = create_topics(kafka_admin, names, partitions=5, replication_factor=1,
                              timeout=30)
        assert first == again == dict.fromkeys(names, 3)  # the second call changed nothing
        metadata = kafka_admin.list_topics(timeout=10)
        assert partition_counts(metadata, names) == dict.fromkeys(names, 3)
    finally:
        delete_topics(kafka_admin, names, timeout=30)
    deadline = time.monotonic() + 30
    while set(names) & set(kafka_admin.list_topics(timeout=10).topics):
        assert time.monotonic() < deadline, f"{names} still listed after their deletion"
        time.sleep(0.2)


def test_a_tiny_queue_is_retried_until_everything_is_delivered_in_order(
    bootstrap_servers: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(1)
    producer = CountingProducer({"bootstrap.servers": bootstrap_servers,
                                 "enable.idempotence": True, "linger.ms": 5,
                                 "queue.buffering.max.messages": 20})
    reports = DeliveryReports()
    values = [f"v{i}".encode() for i in range(2000)]
    assert produce_all(producer, [Record(topic, None, v) for v in values], timeout=30,
                       on_delivery=reports, poll_every=0) == 2000
    reports.check(undelivered=producer.flush(30))
    assert producer.buffer_errors > 0  # the retry path really ran
    assert reports.delivered == 2000
    assert [m.value() for m in read_to_end(bootstrap_servers, topic, timeout=30)] == values


def test_a_queue_no_broker_empties_gives_up_after_the_timeout() -> None:
    (port,) = free_ports(1)
    producer = Producer({"bootstrap.servers": f"127.0.0.1:{port}",
                         "queue.buffering.max.messages": 5, "log_level": 0})
    with pytest.raises(QueueFullError) as error:
        produce_all(producer, [Record("nowhere", None, b"x")] * 10, timeout=0.5)
    assert error.value.queued == 5
    assert producer.flush(0) == 5  # queued, never delivered: nothing else was


def test_read_to_end_sees_committed_transactions_only_and_stops_at_the_start_end(
    bootstrap_servers: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(3)
    tx = Producer({"bootstrap.servers": bootstrap_servers,
                   "transactional.id": f"toolkit-{uuid.uuid4().hex[:12]}"})
    tx.init_transactions(30)
    tx.begin_transaction()
    produce_all(tx, [Record(topic, f"k{i}", f"committed-{i}") for i in range(30)], timeout=30)
    tx.commit_transaction(30)
    tx.begin_transaction()
    produce_all(tx, [Record(topic, f"k{i}", f"aborted-{i}") for i in range(30)], timeout=30)
    tx.flush(30)
    tx.abort_transaction(30)

    messages = iter_to_end(bootstrap_servers, topic, timeout=30)
    seen = [next(messages).value()]
    produce(bootstrap_servers, topic, [b"late"] * 30)  # written after the read started
    seen += [m.value() for m in messages]

    assert sorted(seen) == sorted(f"committed-{i}".encode() for i in range(30))


def test_read_to_end_waits_for_a_transaction_open_at_the_start(
    bootstrap_servers: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(1)
    produce(bootstrap_servers, topic, [b"before"])
    tx = Producer({"bootstrap.servers": bootstrap_servers,
                   "transactional.id": f"toolkit-{uuid.uuid4().hex[:12]}"})
    tx.init_transactions(30)
    tx.begin_transaction()
    produce_all(tx, [Record(topic, None, b"in-transaction")], timeout=30)
    tx.flush(30)
    try:
        with pytest.raises(ReadTimeoutError):
            read_to_end(bootstrap_servers, topic, timeout=3)  # stuck behind the open one
    finally:
        tx.commit_transaction(30)
    values = [m.value() for m in read_to_end(bootstrap_servers, topic, timeout=30)]
    assert values == [b"before", b"in-transaction"]


def test_group_offsets_are_read_without_joining_the_group(
    bootstrap_servers: str, kafka_admin: AdminClient, new_topic: Callable[..., str],
    unique_group_id: Callable[..., str],
) -> None:
    topic, group = new_topic(3), unique_group_id("toolkit")
    committer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": group,
                          "enable.auto.commit": False})
    try:
        committer.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 2, 9)],
                         asynchronous=False)
    finally:
        committer.close()

    with GroupOffsets(bootstrap_servers, group) as offsets:
        assert offsets.committed(topic, 3, timeout=10) == {0: 5, 1: 0, 2: 9}
        assert offsets.total(topic, 3, timeout=10) == 14
        raw = committed_offsets(offsets.consumer, [TopicPartition(topic, p) for p in range(3)],
                                timeout=10)
        assert raw[(topic, 0)] == 5 and raw[(topic, 1)] < 0 and raw[(topic, 2)] == 9
        (description,) = kafka_admin.describe_consumer_groups([group]).values()
        assert description.result(timeout=10).members == []  # the reader never joined
