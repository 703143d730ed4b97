"""The local broker really works: topics, idempotent produce, group consume, transactions."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from infra.kafka import BrokerStartError, LocalBroker, scratch_broker

pytestmark = pytest.mark.integration

own_broker = pytest.mark.skipif(bool(os.environ.get("TEST_KAFKA_BOOTSTRAP")),
                                reason="TEST_KAFKA_BOOTSTRAP: tests use an external broker")


def text(raw: bytes | None) -> str:
    assert raw is not None
    return raw.decode()


def consume_until(consumer: Consumer, count: int, timeout: float = 30.0) -> list[Message]:
    """Consume until ``count`` messages arrived or ``timeout`` passed; fail on any error."""
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=count - len(messages), timeout=0.5):
            assert message.error() is None, message.error()
            messages.append(message)
    return messages


def drain(consumer: Consumer, partitions: int, timeout: float = 30.0) -> list[Message]:
    """Consume every assigned partition to its end (``enable.partition.eof`` must be on)."""
    messages: list[Message] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(at_end) < partitions and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=500, timeout=0.5):
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                partition = message.partition()
                assert partition is not None
                at_end.add(partition)
            else:
                assert error is None, error
                messages.append(message)
    assert len(at_end) == partitions, f"only partitions {sorted(at_end)} reached their end"
    return messages


def test_list_topics_shows_one_broker_and_the_new_topic(
    kafka_broker: object, kafka_admin: AdminClient, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=3)

    metadata = kafka_admin.list_topics(timeout=10)

    assert len(metadata.brokers) >= 1
    if isinstance(kafka_broker, LocalBroker):
        assert [(b.host, b.port) for b in metadata.brokers.values()] == [
            (kafka_broker.host, kafka_broker.port)]
    assert sorted(metadata.topics[topic].partitions) == [0, 1, 2]


def test_idempotent_produce_then_group_consume_returns_exactly_what_was_sent(
    bootstrap_servers: str, new_topic: Callable[..., str], unique_group_id: Callable[..., str]
) -> None:
    topic = new_topic(partitions=3)
    sent = {(f"key-{i}", f"value-{i}") for i in range(100)}
    delivered: list[Message] = []
    failures: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        (failures.append(error) if error is not None else delivered.append(message))

    producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                         "linger.ms": 5})
    for key, value in sorted(sent):
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0

    assert failures == []
    assert len(delivered) == 100
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": unique_group_id(),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        received = consume_until(consumer, count=100)
    finally:
        consumer.close()

    pairs = [(text(m.key()), text(m.value())) for m in received]
    assert len(pairs) == 100
    assert set(pairs) == sent
    partition_of = {m.key(): m.partition() for m in delivered}
    assert {partition_of[m.key()] for m in received} == {0, 1, 2}
    assert all(partition_of[m.key()] == m.partition() for m in received)


def test_read_committed_sees_committed_transactions_and_not_aborted_ones(
    bootstrap_servers: str, new_topic: Callable[..., str], unique_group_id: Callable[..., str]
) -> None:
    topic = new_topic(partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap_servers,
                         "transactional.id": f"test-tx-{uuid.uuid4().hex[:12]}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic, key=f"k{i}", value=f"committed-{i}")
    producer.commit_transaction(30)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic, key=f"k{i}", value=f"aborted-{i}")
    producer.flush(30)  # the aborted records really reach the log before the abort marker
    producer.abort_transaction(30)

    def read(isolation_level: str) -> list[str]:
        consumer = Consumer({"bootstrap.servers": bootstrap_servers,
                             "group.id": unique_group_id(), "enable.auto.commit": False,
                             "isolation.level": isolation_level,
                             "enable.partition.eof": True})
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
            return sorted(text(m.value()) for m in drain(consumer, partitions=3))
        finally:
            consumer.close()

    committed = sorted(f"committed-{i}" for i in range(10))
    assert read("read_committed") == committed
    assert read("read_uncommitted") == sorted(committed + [f"aborted-{i}" for i in range(10)])


# -- lifecycle of a LocalBroker of its own (not the session broker) ---------------------------


def own_local_broker(data_dir: Path, heap: str = "512M") -> LocalBroker:
    return scratch_broker(data_dir, heap=heap)


@own_broker
def test_a_jvm_that_dies_at_startup_fails_fast_with_the_log_tail(tmp_path: Path) -> None:
    broker = own_local_broker(tmp_path, heap="1K")  # the JVM refuses such a heap and exits
    broker.start()

    # "exited ... during startup", not a timeout: the launcher saw the JVM die
    with pytest.raises(BrokerStartError, match="exited with code 1 during startup") as error:
        broker.wait_ready(timeout=60)

    assert "heap" in error.value.detail
    assert not broker.is_running


@own_broker
@pytest.mark.slow
def test_data_survives_a_restart_and_a_kill_without_reformatting(tmp_path: Path) -> None:
    with own_local_broker(tmp_path) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        admin.create_topics([NewTopic("durable", num_partitions=1)])["durable"].result(30)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all"})
        producer.produce("durable", value=b"kept")
        assert producer.flush(30) == 0
        cluster_id = broker.cluster_id_file.read_text()
        formatted_at = (broker.log_dir / "meta.properties").stat().st_mtime_ns

        broker.restart()
        assert "durable" in admin.list_topics(timeout=10).topics
        broker.kill()
        assert not broker.is_running
        broker.start()
        broker.wait_ready(timeout=60)

        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers,
                             "group.id": "lifecycle", "enable.partition.eof": True})
        try:
            consumer.assign([TopicPartition("durable", 0, OFFSET_BEGINNING)])
            assert [text(m.value()) for m in drain(consumer, partitions=1)] == ["kept"]
        finally:
            consumer.close()
        assert broker.cluster_id_file.read_text() == cluster_id
        assert (broker.log_dir / "meta.properties").stat().st_mtime_ns == formatted_at
    assert not broker.is_running
