"""The producer on the real local broker: every event and its delayed label arrive, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import orjson
import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from model.schema import validate_event
from producer import ProducerSettings, run_producer

pytestmark = pytest.mark.integration

EVENTS = 2000
DELAY = 1.0


def consume_all(bootstrap: str, group: str, topics: list[str], count: int,
                timeout: float = 60.0) -> list[Message]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(topics)
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                assert message.error() is None, message.error()
                messages.append(message)
        # anything beyond `count` would be a duplicate: give it a moment to show up
        messages.extend(m for m in consumer.consume(num_messages=1000, timeout=1.0))
    finally:
        consumer.close()
    return messages


def test_events_and_delayed_labels_round_trip(
    bootstrap_servers: str, new_topic: Callable[..., str], unique_group_id: Callable[..., str]
) -> None:
    events_topic, labels_topic = new_topic(partitions=3), new_topic(partitions=3)
    run_id = f"it{uuid.uuid4().hex[:8]}"
    settings = ProducerSettings(
        bootstrap_servers=bootstrap_servers, topic=events_topic, labels_topic=labels_topic,
        events=EVENTS, rate=2000, labels=True, label_delay=DELAY, run_id=run_id,
        progress_interval=0.5,
    )
    summary = run_producer(settings)
    assert summary.ok, summary.line()
    assert (summary.sent, summary.delivered, summary.labels_sent, summary.labels_delivered) == (
        EVENTS, EVENTS, EVENTS, EVENTS)

    messages = consume_all(bootstrap_servers, unique_group_id(), [events_topic, labels_topic],
                           2 * EVENTS)
    events = [m for m in messages if m.topic() == events_topic]
    labels = [m for m in messages if m.topic() == labels_topic]
    assert len(events) == EVENTS and len(labels) == EVENTS

    by_id: dict[str, Message] = {}
    for message in events:
        event = validate_event(orjson.loads(message.value() or b""))
        assert message.key() == event.event_id.encode()
        assert message.timestamp()[1] == event.event_time
        by_id[event.event_id] = message
    assert set(by_id) == {f"{run_id}-{i}" for i in range(EVENTS)}

    for message in labels:
        label = orjson.loads(message.value() or b"")
        assert set(label) == {"event_id", "price", "event_time"}
        event_message = by_id[label["event_id"]]
        assert message.key() == event_message.key()
        assert message.partition() == event_message.partition()
        event_time = orjson.loads(event_message.value() or b"")["event_time"]
        assert label["event_time"] == event_time
        assert message.timestamp()[1] - event_time >= DELAY * 1000
        assert isinstance(label["price"], int) and label["price"] > 0
    assert len({orjson.loads(m.value() or b"")["event_id"] for m in labels}) == EVENTS


@pytest.fixture
def fresh_names(kafka_admin: AdminClient) -> Iterator[list[str]]:
    """Names of topics that do not exist yet; deleted afterwards if the test created them."""
    names = [f"producer-create-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    yield names
    existing = set(kafka_admin.list_topics(timeout=10).topics)
    created = [n for n in names if n in existing]
    if created:
        for future in kafka_admin.delete_topics(created, operation_timeout=30).values():
            future.result(timeout=30)


def test_missing_topics_are_created_with_the_configured_partitions(
    bootstrap_servers: str, kafka_admin: AdminClient, fresh_names: list[str]
) -> None:
    events_topic, labels_topic = fresh_names
    settings = ProducerSettings(
        bootstrap_servers=bootstrap_servers, topic=events_topic, labels_topic=labels_topic,
        events=100, rate=0, labels=True, label_delay=0, partitions=2, run_id="create",
    )
    summary = run_producer(settings)
    assert summary.ok and summary.sent == summary.labels_delivered == 100
    metadata = kafka_admin.list_topics(timeout=10).topics
    assert len(metadata[events_topic].partitions) == 2
    assert len(metadata[labels_topic].partitions) == 2


def high_watermark(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in range(partitions))
    finally:
        consumer.close()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_flushes_and_exits_zero(
    bootstrap_servers: str, new_topic: Callable[..., str], signum: int
) -> None:
    """`python -m producer`: a signal stops generation; pending labels wait, then it exits 0."""
    events_topic, labels_topic = new_topic(partitions=3), new_topic(partitions=3)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    process = subprocess.Popen(
        [sys.executable, "-m", "producer", "--bootstrap-servers", bootstrap_servers,
         "--topic", events_topic, "--labels-topic", labels_topic, "--labels",
         "--label-delay", "1", "--duration", "120", "--rate", "500", "--run-id", "sig"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while high_watermark(bootstrap_servers, events_topic, 3) < 500:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr[-2000:]
    assert stdout.startswith("ok: run sig:") and "(interrupted)" in stdout
    sent = int(stdout.split("sent=")[1].split()[0])
    assert sent >= 500
    assert high_watermark(bootstrap_servers, events_topic, 3) == sent
    assert high_watermark(bootstrap_servers, labels_topic, 3) == sent  # every label, after all
