"""Producing: hand a list of records to librdkafka, and collect what the delivery reports say.

`produce_all(producer, records, timeout=...)` queues each record in order. When the local queue
is full (librdkafka raises `BufferError`), it serves delivery reports with `poll()` and retries the
same record (same bytes) until it fits; a record that still does not fit `timeout` seconds later
raises `QueueFullError` (`.queued`: how many of the call's records were queued before it), so a
broker that stopped taking writes cannot hang the caller. `poll(0)` follows every `poll_every`
records and the last one.

`DeliveryReports` is an `on_delivery` callback that counts delivered records and keeps the
failures; `check(undelivered=producer.flush(...))` raises `DeliveryFailedError` when any record
failed or stayed undelivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from confluent_kafka import KafkaError, Message

from common.kafka.exceptions import DeliveryFailedError, QueueFullError

BUFFER_FULL_POLL = 0.05  # seconds to serve delivery reports while the local queue is full

Headers = Sequence[tuple[str, str | bytes | None]]
DeliveryCallback = Callable[[KafkaError | None, Message], None]


class OutboundRecord(Protocol):
    """What `produce_all` needs of a record (`Record`, or any object with these attributes)."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> str | bytes | None: ...

    @property
    def value(self) -> str | bytes | None: ...

    @property
    def headers(self) -> Headers | None: ...


class Record(NamedTuple):
    topic: str
    key: str | bytes | None
    value: str | bytes | None
    headers: Headers | None = None


def produce_all(
    producer: Any,
    records: Iterable[OutboundRecord],
    *,
    timeout: float,
    on_delivery: DeliveryCallback | None = None,
    timestamp: int = 0,
    poll_every: int = 1,
) -> int:
    """Queue every record in order; returns how many were queued.

    `timeout`: seconds one record may wait for room in a full queue (0: no wait) before
    `QueueFullError`. `timestamp` (epoch ms, 0 = now) applies to every record. `poll_every=0`
    leaves serving delivery reports to the caller. `KafkaException` from `produce()` (e.g. an
    unknown topic) propagates unchanged."""
    extra: dict[str, Any] = {}
    if on_delivery is not None:
        extra["on_delivery"] = on_delivery
    if timestamp:
        extra["timestamp"] = timestamp
    produce, poll = producer.produce, producer.poll
    count = 0
    for record in records:
        try:  # _send inlined: this loop is the consumer's hot path
            if record.headers is None:
                produce(record.topic, value=record.value, key=record.key, **extra)
            else:
                produce(record.topic, value=record.value, key=record.key,
                        headers=record.headers, **extra)
        except BufferError:  # the local queue is full: the only place that waits for room
            _retry_while_full(producer, record, extra, timeout=timeout, queued=count)
        count += 1
        if poll_every and count % poll_every == 0:
            poll(0)
    if poll_every and count % poll_every:
        poll(0)
    return count


def _send(produce: Callable[..., None], record: OutboundRecord, extra: dict[str, Any]) -> None:
    # `headers` only when there are some: the same call as a plain produce(topic, value, key)
    if record.headers is None:
        produce(record.topic, value=record.value, key=record.key, **extra)
    else:
        produce(record.topic, value=record.value, key=record.key, headers=record.headers,
                **extra)


def _retry_while_full(
    producer: Any, record: OutboundRecord, extra: dict[str, Any], *, timeout: float, queued: int
) -> None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        producer.poll(min(BUFFER_FULL_POLL, left))  # delivery reports free room in the queue
        try:
            _send(producer.produce, record, extra)
            return
        except BufferError:
            continue
    raise QueueFullError(
        f"the producer's local queue stayed full for {timeout:g} s: a record for "
        f"{record.topic} was not queued ({queued} before it were): is the broker taking "
        "writes? (the queue is bounded by queue.buffering.max.messages / .max.kbytes)",
        queued=queued,
    )


class DeliveryReports:
    """An `on_delivery` callback: counts delivered records and keeps the failures' errors (the
    first `keep` of them, as "topic: error"). Called from whichever thread polls the producer."""

    def __init__(self, *, keep: int = 100) -> None:
        self.delivered = 0
        self.failed = 0
        self.errors: list[str] = []
        self._keep = keep

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
            return
        self.failed += 1
        if len(self.errors) < self._keep:
            self.errors.append(f"{msg.topic()}: {err.str()}")

    def check(self, *, undelivered: int = 0) -> None:
        """DeliveryFailedError when a record failed or `undelivered` (what a flush left) > 0."""
        if self.failed or undelivered:
            first = f" (first error: {self.errors[0]})" if self.errors else ""
            raise DeliveryFailedError(
                f"{self.failed} records failed and {undelivered} were still undelivered after "
                f"the flush; {self.delivered} delivered{first}"
            )
