"""Reading back: a topic to its end, high watermarks, a group's committed offsets.

- `iter_to_end(bootstrap, topic, timeout=...)` yields every record of every partition from the
  beginning up to the high watermarks taken when it starts (records written later are not
  yielded); `read_to_end` returns them as a list, or what `decode` makes of each. It reads with
  `isolation.level=read_committed` (what a downstream consumer sees) by default, so it waits at a
  transaction still open at the start until the broker completes or aborts it: nothing that may
  still be committed is missed. `ReadTimeoutError` (a `TimeoutError`) when the end is not reached
  in time, `ReadError` for any consumer error other than end-of-partition (or no metadata).
- `committed_offsets(consumer, partitions)`: a group's committed offsets through a consumer of the
  group that never subscribes (so never joins it, never triggers a rebalance) and, configured with
  read_uncommitted, does not wait for offsets of open transactions. `GroupOffsets` holds such a
  consumer for repeated reads. Not `AdminClient.list_consumer_group_offsets`: librdkafka (up to at
  least 2.16; librdkafka#5040, confluent-kafka-python#1982) dereferences a NULL handle when that
  request meets NOT_COORDINATOR or an unknown coordinator, which a broker restart or a fresh
  broker causes: a SIGSEGV of the whole process.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, overload

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from common.kafka.exceptions import ReadError, ReadTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")
Partition = tuple[str, int]
BATCH = 10_000  # records per consume() call
METADATA_TIMEOUT = 10.0  # seconds, at most, for the topic's partitions and watermarks


def reader_config(
    bootstrap_servers: str, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A reader that is assigned partitions (never subscribes) and never commits."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "group.id": f"reader-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        **(config or {}),
    }


def topic_partitions(consumer: Any, topic: str, *, timeout: float = METADATA_TIMEOUT) -> list[int]:
    """The partition ids of `topic`; none when it does not exist."""
    found = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    return sorted(found.partitions) if found is not None and found.error is None else []


def high_watermarks(
    consumer: Any, topic: str, partitions: Iterable[int], *, timeout: float = METADATA_TIMEOUT
) -> dict[int, int]:
    """Partition -> the end of its log as the consumer's isolation level sees it (under
    read_committed: the last stable offset, before any open transaction)."""
    return {
        p: int(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout,
                                              cached=False)[1])
        for p in partitions
    }


def iter_to_end(
    bootstrap_servers: str,
    topic: str,
    *,
    timeout: float,
    config: Mapping[str, Any] | None = None,
    consumer_factory: Callable[[dict[str, Any]], Any] = Consumer,
) -> Iterator[Message]:
    """Every record of `topic` up to the high watermarks at the start (see the module doc).

    `config` adds to or overrides the reader's configuration (security, `logger`, ...)."""
    settings = reader_config(bootstrap_servers, config)
    deadline = time.monotonic() + timeout
    # The true end, open transactions included: a read_committed client sees the stable end only.
    probe = consumer_factory({**settings, "isolation.level": "read_uncommitted"})
    try:
        budget = min(METADATA_TIMEOUT, timeout)
        ends = high_watermarks(probe, topic, topic_partitions(probe, topic, timeout=budget),
                               timeout=budget)
    except KafkaException as exc:
        raise ReadError(f"{topic}: no partitions or high watermarks within {budget:g} s: "
                        f"{exc}") from exc
    finally:
        probe.close()
    pending = {p for p, end in ends.items() if end > 0}
    if not pending:
        return
    reader = consumer_factory(settings)
    try:
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(pending)])
        while pending:
            if time.monotonic() > deadline:
                left = {p: ends[p] for p in sorted(pending)}
                raise ReadTimeoutError(
                    f"{topic}: partitions not read to their end (partition: end offset) {left} "
                    f"in {timeout:g} s"
                )
            for msg in reader.consume(num_messages=BATCH, timeout=0.5):
                partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
                err = msg.error()
                if err is None:
                    if offset < ends[partition]:
                        yield msg
                    if offset + 1 >= ends[partition]:
                        pending.discard(partition)
                elif err.code() == KafkaError._PARTITION_EOF:
                    if offset >= ends[partition]:
                        pending.discard(partition)
                else:
                    raise ReadError(f"reading {topic}[{msg.partition()}]: {err.str()}")
            if pending:  # a transaction marker can be the last offset: no record reaches it
                done = reader.position([TopicPartition(topic, p) for p in pending])
                pending -= {tp.partition for tp in done if tp.offset >= ends[tp.partition]}
    finally:
        reader.close()


@overload
def read_to_end(
    bootstrap_servers: str, topic: str, *, timeout: float, decode: None = None,
    config: Mapping[str, Any] | None = None,
    consumer_factory: Callable[[dict[str, Any]], Any] = Consumer,
) -> list[Message]: ...


@overload
def read_to_end(
    bootstrap_servers: str, topic: str, *, timeout: float, decode: Callable[[Message], T],
    config: Mapping[str, Any] | None = None,
    consumer_factory: Callable[[dict[str, Any]], Any] = Consumer,
) -> list[T]: ...


def read_to_end(
    bootstrap_servers: str,
    topic: str,
    *,
    timeout: float,
    decode: Callable[[Message], Any] | None = None,
    config: Mapping[str, Any] | None = None,
    consumer_factory: Callable[[dict[str, Any]], Any] = Consumer,
) -> list[Any]:
    """`iter_to_end` as a list: the messages, or `decode(message)` of each."""
    messages = iter_to_end(bootstrap_servers, topic, timeout=timeout, config=config,
                           consumer_factory=consumer_factory)
    if decode is None:
        return list(messages)
    return [decode(msg) for msg in messages]


def committed_offsets(
    consumer: Any, partitions: Sequence[TopicPartition], *, timeout: float
) -> dict[Partition, int]:
    """(topic, partition) -> the committed offset of the consumer's group, as the broker returns
    it (negative: nothing committed yet); partitions the broker answered with an error are left
    out. `consumer` must never subscribe (see the module doc)."""
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in consumer.committed(list(partitions), timeout=timeout)
        if tp.error is None
    }


def offsets_reader_config(
    bootstrap_servers: str, group_id: str, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A consumer of `group_id` that never joins it, never commits, never waits for offsets of
    open transactions (read_uncommitted)."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_uncommitted",
        **(config or {}),
    }


class GroupOffsets:
    """A group's committed offsets, read again and again through one never-subscribed consumer.

    No client exists before the first read; a context manager; `close()` is idempotent."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        consumer_factory: Callable[[dict[str, Any]], Any] = Consumer,
    ) -> None:
        self.group_id = group_id
        self._config = offsets_reader_config(bootstrap_servers, group_id, config)
        self._factory = consumer_factory
        self._consumer: Any = None

    @property
    def consumer(self) -> Any:
        if self._consumer is None:
            self._consumer = self._factory(self._config)
        return self._consumer

    def committed(
        self, topic: str, partitions: int | Iterable[int], *, timeout: float = 5.0
    ) -> dict[int, int]:
        """Partition -> committed offset; 0 where nothing is committed yet (the start of a topic
        that never lost its head) or the broker answered the partition with an error."""
        ids = range(partitions) if isinstance(partitions, int) else partitions
        tps = [TopicPartition(topic, p) for p in ids]
        found = committed_offsets(self.consumer, tps, timeout=timeout)
        return {tp.partition: max(found.get((topic, tp.partition), 0), 0) for tp in tps}

    def total(self, topic: str, partitions: int | Iterable[int], *, timeout: float = 5.0) -> int:
        """Records of `topic` the group has committed past, over all `partitions`."""
        return sum(self.committed(topic, partitions, timeout=timeout).values())

    def high_watermarks(
        self, topic: str, partitions: int | Iterable[int], *, timeout: float = METADATA_TIMEOUT
    ) -> dict[int, int]:
        ids = range(partitions) if isinstance(partitions, int) else partitions
        return high_watermarks(self.consumer, topic, ids, timeout=timeout)

    def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            consumer.close()

    def __enter__(self) -> GroupOffsets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
