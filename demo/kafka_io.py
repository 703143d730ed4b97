"""The demo's own Kafka plumbing: its broker, its topics, and what it reads back.

- `start_broker`: a fresh single-node broker in a temp data dir, on 9092/9093 when free, else
  on two free ports (a `make broker` already running is left alone).
- `create_topics`: the five demo topics, `partitions` each.
- `warm_up_transactions`: one empty transaction, so the broker creates and loads its
  transaction-state topic before the story, not during the consumer's first batches.
- `end_offsets` / `first_timestamp`: the events topic's high watermarks, and the Kafka
  timestamp (the producer stamps it with the event time) of the first event written after
  given offsets: the exact onset of a phase.
- `read_all`: every committed record of a topic, read with read_committed (the drift reports).
- `group_lag`: committed offsets of a group against the high watermarks.

Creating topics, reading to the end and committed offsets are `common.kafka`'s; this module
gives them the demo's logger and errors.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from common.kafka import (
    GroupOffsets,
    KafkaToolkitError,
    ReadError,
    high_watermarks,
    iter_to_end,
    reader_config,
)
from common.kafka import topics as kafka_topics
from demo.exceptions import SetupError
from infra.kafka import LocalBroker, LocalKafkaSettings, ensure_libs, free_ports
from infra.kafka.net import port_is_free

log = logging.getLogger(__name__)
kafka_log = logging.getLogger("demo.librdkafka")  # client logs go to demo.log, not the screen

OffsetMap = dict[int, int]
# One node, one consumer group: one partition per internal topic is enough and makes their
# creation on first use (group join, first transaction) quick.
BROKER_PROPERTIES = {
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.num.partitions": "1",
}


def start_broker(data_dir: Path, log_file: Path, *, timeout: float) -> LocalBroker:
    """Start and wait for a broker of the demo's own; the caller stops it."""
    settings = LocalKafkaSettings()
    libs = ensure_libs(settings.libs_dir, stamp_file=settings.stamp_file)
    host = "127.0.0.1"
    if port_is_free(host, 9092) and port_is_free(host, 9093):
        port, controller_port = 9092, 9093
    else:
        port, controller_port = free_ports(2, host)
    broker = LocalBroker(data_dir=data_dir, libs_dir=libs, host=host, port=port,
                         controller_port=controller_port, log_file=log_file,
                         properties=BROKER_PROPERTIES)
    broker.start()
    try:
        broker.wait_ready(timeout=timeout)
    except BaseException:
        broker.stop()
        raise
    return broker


def create_topics(bootstrap: str, topics: Iterable[str], partitions: int,
                  timeout: float = 30.0, *, config: dict[str, str] | None = None) -> None:
    """Create the demo's topics (with topic `config`) and wait until every partition has a
    leader."""
    client: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": kafka_log}
    admin = AdminClient(client)
    try:
        kafka_topics.create_topics(admin, topics, partitions=partitions, replication_factor=1,
                                   config=config, timeout=timeout)
    except KafkaToolkitError as exc:
        raise SetupError(str(exc)) from exc


def warm_up_transactions(bootstrap: str, timeout: float = 60.0) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "logger": kafka_log,
                         "transactional.id": f"demo-warm-up-{uuid.uuid4().hex[:8]}"})
    try:
        producer.init_transactions(timeout)
        producer.begin_transaction()
        producer.commit_transaction(timeout)
    except KafkaException as exc:
        raise SetupError(f"the broker at {bootstrap} does not complete a transaction: "
                         f"{exc.args[0]}") from exc


def _reader(bootstrap: str) -> Consumer:
    return Consumer(reader_config(bootstrap, {"logger": kafka_log}))


class TopicProbe:
    """A long-lived reader of high watermarks (cheap enough to call every second)."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self._consumer = _reader(bootstrap)

    def end_offsets(self, timeout: float = 5.0) -> OffsetMap:
        return high_watermarks(self._consumer, self.topic, range(self.partitions),
                               timeout=timeout)

    def close(self) -> None:
        self._consumer.close()


def first_timestamp(bootstrap: str, topic: str, starts: OffsetMap, ends: OffsetMap,
                    timeout: float = 15.0) -> int | None:
    """Earliest Kafka timestamp (ms) among the records at offsets ``starts`` (where ``ends``
    shows that a record exists); None when no partition received one."""
    wanted = {p: o for p, o in starts.items() if ends.get(p, 0) > o}
    if not wanted:
        return None
    reader = _reader(bootstrap)
    try:
        reader.assign([TopicPartition(topic, p, o) for p, o in wanted.items()])
        found: dict[int, int] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(wanted) and time.monotonic() < deadline:
            for msg in reader.consume(num_messages=len(wanted), timeout=0.5):
                partition = int(msg.partition() or 0)
                if msg.error() is None and partition not in found:
                    found[partition] = msg.timestamp()[1]
                    reader.pause([TopicPartition(topic, partition)])
        return min(found.values()) if found else None
    finally:
        reader.close()


def read_all(bootstrap: str, topic: str, timeout: float = 60.0) -> list[bytes]:
    """Every committed record value of ``topic``, from the beginning to the end; what was read
    when reading fails or times out (logged: the summary goes on without the rest)."""
    values: list[bytes] = []
    try:
        for msg in iter_to_end(bootstrap, topic, timeout=timeout, config={"logger": kafka_log}):
            value = msg.value()
            if value is not None:
                values.append(value)
    except ReadError as exc:
        log.warning("read %d records of %s, then: %s", len(values), topic, exc)
    return values


def group_lag(bootstrap: str, group_id: str, topic: str, partitions: int) -> int:
    """Events of ``topic`` not yet committed by ``group_id``."""
    with GroupOffsets(bootstrap, group_id, config={"logger": kafka_log}) as offsets:
        committed = offsets.committed(topic, partitions, timeout=10)
        ends = offsets.high_watermarks(topic, partitions, timeout=10)
    return sum(ends[p] - committed[p] for p in committed)


def read_announcements(bootstrap: str, topic: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The model announcements on ``topic`` in order (tombstones and bad records left out), as
    dicts of `common.contracts.models.Announcement`'s fields."""
    from dataclasses import asdict

    from common.contracts.models import Announcement, decode_announcement

    found: list[dict[str, Any]] = []
    try:
        for msg in iter_to_end(bootstrap, topic, timeout=timeout, config={"logger": kafka_log}):
            decoded = decode_announcement(msg.key(), msg.value())
            if isinstance(decoded, Announcement):
                found.append(asdict(decoded))
    except ReadError as exc:
        log.warning("read %d announcements of %s, then: %s", len(found), topic, exc)
    return found
