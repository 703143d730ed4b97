"""Fakes at the boundary for the `common.kafka` unit tests: an AdminClient, a Consumer and a
Producer that keep their state in plain Python. No broker."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition


def done(value: object = None, error: BaseException | None = None) -> Future:
    future: Future = Future()
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
    return future


class FakeAdmin:
    """Topics as name -> partition count; `leaderless_reads` metadata answers show a new topic
    without leaders first; `create_errors` / `topic_errors` map a topic to a KafkaError code."""

    def __init__(self, existing: dict[str, int] | None = None, *, leaderless_reads: int = 0,
                 create_errors: dict[str, int] | None = None,
                 topic_errors: dict[str, int] | None = None,
                 metadata_error: int | None = None) -> None:
        self.existing = dict(existing or {})
        self.leaderless = {name: 0 for name in self.existing}
        self.leaderless_reads = leaderless_reads
        self.create_errors = create_errors or {}
        self.topic_errors = topic_errors or {}
        self.metadata_error = metadata_error
        self.created: list[tuple[str, int, int, dict[str, str]]] = []
        self.deleted: list[str] = []
        self.delete_errors: set[str] = set()

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> SimpleNamespace:
        if self.metadata_error is not None:
            raise KafkaException(KafkaError(self.metadata_error))
        topics: dict[str, SimpleNamespace] = {}
        for name, count in self.existing.items():
            leader = -1 if self.leaderless.get(name, 0) > 0 else 1
            if self.leaderless.get(name, 0) > 0:
                self.leaderless[name] -= 1
            topics[name] = SimpleNamespace(
                error=None, partitions={p: SimpleNamespace(leader=leader) for p in range(count)})
        for name, code in self.topic_errors.items():
            topics[name] = SimpleNamespace(error=KafkaError(code), partitions={})
        return SimpleNamespace(topics=topics)

    def create_topics(self, new_topics: list[Any], **kwargs: Any) -> dict[str, Future]:
        futures = {}
        for new in new_topics:
            code = self.create_errors.get(new.topic)
            if code is None:
                self.created.append((new.topic, new.num_partitions, new.replication_factor,
                                     dict(new.config)))
                self.existing[new.topic] = new.num_partitions
                self.leaderless[new.topic] = self.leaderless_reads
                futures[new.topic] = done()
            else:
                if code == KafkaError.TOPIC_ALREADY_EXISTS:  # someone else created it first
                    self.existing.setdefault(new.topic, new.num_partitions)
                futures[new.topic] = done(error=KafkaException(KafkaError(code)))
        return futures

    def delete_topics(self, names: list[str], **kwargs: Any) -> dict[str, Future]:
        futures = {}
        for name in names:
            if name in self.delete_errors:
                futures[name] = done(error=KafkaException(KafkaError(KafkaError.UNKNOWN)))
            else:
                self.deleted.append(name)
                futures[name] = done()
        return futures


def message(topic: str, partition: int, offset: int, value: bytes | None = None,
            error: KafkaError | None = None) -> Message:
    """A real `confluent_kafka.Message` (its constructor exists for tests)."""
    return Message(topic=topic, partition=partition, offset=offset, value=value, error=error)


@dataclass
class FakeLog:
    """One topic: partition -> offset -> value (None: a transaction marker, never delivered).
    `stable` (partition -> offset) is where read_committed readers stop (an open transaction);
    `resolve_after` consume() calls later it moves to the end. `late` records are appended when
    a reader is assigned (written after the read started)."""

    topic: str
    records: dict[int, list[bytes | None]]
    stable: dict[int, int] = field(default_factory=dict)
    resolve_after: int | None = None
    late: dict[int, list[bytes]] = field(default_factory=dict)
    errors: list[KafkaError] = field(default_factory=list)
    silent: bool = False  # no broker answers metadata requests
    consumers: list[FakeConsumer] = field(default_factory=list)
    consume_calls: int = 0

    def end(self, partition: int, committed_only: bool) -> int:
        end = len(self.records[partition])
        return min(end, self.stable.get(partition, end)) if committed_only else end

    def factory(self, config: dict[str, Any]) -> FakeConsumer:
        consumer = FakeConsumer(self, config)
        self.consumers.append(consumer)
        return consumer


class FakeConsumer:
    """The assign/consume/position/watermark side of `confluent_kafka.Consumer` on a FakeLog."""

    def __init__(self, log: FakeLog, config: dict[str, Any]) -> None:
        self.log = log
        self.config = config
        self.committed_only = config.get("isolation.level") == "read_committed"
        self.positions: dict[int, int] = {}
        self.eof_sent: dict[int, int] = {}
        self.closed = False
        self.subscribed = False
        self.committed_offsets: dict[tuple[str, int], int] = {}
        self.committed_errors: set[tuple[str, int]] = set()

    def list_topics(self, topic: str, timeout: float = -1) -> SimpleNamespace:
        if self.log.silent:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT))
        topics = {}
        if topic == self.log.topic:
            topics[topic] = SimpleNamespace(error=None, partitions=dict.fromkeys(self.log.records))
        return SimpleNamespace(topics=topics)

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float = -1,
                              cached: bool = False) -> tuple[int, int]:
        return 0, self.log.end(tp.partition, self.committed_only)

    def assign(self, tps: list[TopicPartition]) -> None:
        for p, late in self.log.late.items():
            self.log.records[p].extend(late)
        for tp in tps:
            self.positions[tp.partition] = 0 if tp.offset == OFFSET_BEGINNING else tp.offset

    def subscribe(self, topics: list[str]) -> None:
        self.subscribed = True

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Message]:
        log = self.log
        log.consume_calls += 1
        if log.resolve_after is not None and log.consume_calls > log.resolve_after:
            log.stable.clear()
        if log.errors:
            return [message(log.topic, 0, 0, error=log.errors.pop(0))]
        out: list[Message] = []
        for p in sorted(self.positions):
            end = log.end(p, self.committed_only)
            while self.positions[p] < end and len(out) < num_messages:
                offset = self.positions[p]
                self.positions[p] += 1
                value = log.records[p][offset]
                if value is not None:
                    out.append(message(log.topic, p, offset, value))
            eof = self.config.get("enable.partition.eof", False)
            if eof and self.positions[p] == end and self.eof_sent.get(p) != end:
                self.eof_sent[p] = end
                out.append(message(log.topic, p, end,
                                   error=KafkaError(KafkaError._PARTITION_EOF)))
        if not out:
            time.sleep(0.001)
        return out

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.positions.get(tp.partition, -1001))
                for tp in tps]

    def committed(self, tps: list[TopicPartition], timeout: float = -1) -> list[TopicPartition]:
        out = []
        for tp in tps:
            key = (tp.topic, tp.partition)
            found = TopicPartition(tp.topic, tp.partition, self.committed_offsets.get(key, -1001))
            if key in self.committed_errors:
                found = SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=-1001,
                                        error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
            out.append(found)
        return out

    def close(self) -> None:
        self.closed = True


@dataclass
class Produced:
    topic: str
    key: Any
    value: Any
    kwargs: dict[str, Any]


class FakeProducer:
    """A local queue of `capacity` records; each `poll()` delivers up to `deliver_per_poll`
    (0: the broker takes nothing). `calls` records "produce" / "poll(t)" in order."""

    def __init__(self, *, capacity: int = 1000, deliver_per_poll: int = 1000,
                 fail_topics: set[str] | None = None, refuse: Exception | None = None) -> None:
        self.capacity = capacity
        self.deliver_per_poll = deliver_per_poll
        self.fail_topics = fail_topics or set()
        self.refuse = refuse
        self.queue: list[Produced] = []
        self.delivered: list[Produced] = []
        self.calls: list[str] = []
        self.buffer_errors = 0

    def produce(self, topic: str, value: Any = None, key: Any = None, **kwargs: Any) -> None:
        self.calls.append("produce")
        if self.refuse is not None:
            raise self.refuse
        if len(self.queue) >= self.capacity:
            self.buffer_errors += 1
            raise BufferError("Local: Queue full")
        self.queue.append(Produced(topic, key, value, kwargs))

    def poll(self, timeout: float = 0) -> int:
        self.calls.append(f"poll({timeout:g})")
        served = self.queue[:self.deliver_per_poll]
        del self.queue[:len(served)]
        for record in served:
            self.delivered.append(record)
            callback = record.kwargs.get("on_delivery")
            if callback is not None:
                err = (KafkaError(KafkaError._MSG_TIMED_OUT) if record.topic in self.fail_topics
                       else None)
                callback(err, message(record.topic, 0, len(self.delivered) - 1, record.value))
        return len(served)

    def flush(self, timeout: float = 0) -> int:
        self.poll(0)
        return len(self.queue)

    def __len__(self) -> int:
        return len(self.queue)
