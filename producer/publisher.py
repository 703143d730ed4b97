"""A thin idempotent Kafka producer that counts what was sent, delivered and failed.

No network call happens in `__init__` beyond librdkafka's own background connection; `poll(0)`
follows every `produce`; a full local queue is served by polling, then the same message is
retried (same bytes, same event_time) by `common.kafka.produce_all`, for at most
`queue_timeout` s (then `QueueFullError`: the broker is not taking writes). Every delivery report
is counted; failures are logged with their error (the first `MAX_LOGGED_FAILURES` one by one, the
rest summarised by error at the end), never ignored.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from common.kafka.exceptions import QueueFullError
from common.kafka.producing import Record, produce_all

log = logging.getLogger(__name__)

MAX_LOGGED_FAILURES = 20
# librdkafka fails a message still queued after message.timeout.ms (300 s by default), which
# frees room: a queue still full after that long means the client is stuck, not slow.
QUEUE_TIMEOUT = 300.0

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "client.id": "diamond-producer",
}


@dataclass
class DeliveryStats:
    """Counters of one stream (events or labels)."""

    name: str
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def in_flight(self) -> int:
        return self.sent - self.delivered - self.failed


class Publisher:
    """Usable as a context manager; `close()` flushes (bounded by `flush_timeout`)."""

    queue_timeout = QUEUE_TIMEOUT  # seconds one message may wait for room in a full queue

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        flush_timeout: float = 30.0,
        producer_factory: Callable[[dict[str, Any]], Any] = Producer,
    ) -> None:
        self.flush_timeout = flush_timeout
        self.events = DeliveryStats("events")
        self.labels = DeliveryStats("labels")
        self._logged_failures = 0
        self._flushed = False
        self._producer = producer_factory({"error_cb": _on_client_error, **config})

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        topic: str,
        messages: Iterable[tuple[bytes, bytes]],
        *,
        stats: DeliveryStats,
        timestamp: int = 0,
    ) -> int:
        """Produce (key, value) pairs to `topic`; returns how many were handed to librdkafka."""
        records = (Record(topic, key, value) for key, value in messages)
        try:
            count = produce_all(self._producer, records, timeout=self.queue_timeout,
                                on_delivery=self._callback(stats), timestamp=timestamp)
        except QueueFullError as exc:
            stats.sent += exc.queued  # those are in flight: their reports still count
            raise
        stats.sent += count
        return count

    def poll(self, timeout: float = 0.0) -> None:
        self._producer.poll(timeout)

    def flush(
        self, timeout: float | None = None, *, give_up: Callable[[], bool] | None = None
    ) -> int:
        """Wait for every delivery report; returns how many messages are still undelivered."""
        self._flushed = True
        deadline = time.monotonic() + (self.flush_timeout if timeout is None else timeout)
        remaining = len(self._producer)
        while remaining and time.monotonic() < deadline and not (give_up and give_up()):
            remaining = self._producer.flush(min(0.2, max(0.0, deadline - time.monotonic())))
        return remaining

    def close(self) -> None:
        """Flush (unless `flush` was already called), then log what failed."""
        remaining = len(self._producer) if self._flushed else self.flush()
        if remaining:
            log.error("%d messages still undelivered after a %g s flush", remaining,
                      self.flush_timeout)
        for stats in (self.events, self.labels):
            for error, count in stats.errors.most_common():
                log.error("%s: %d deliveries failed with %s", stats.name, count, error)

    def _callback(self, stats: DeliveryStats) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is None:
                stats.delivered += 1
                return
            stats.failed += 1
            stats.errors[err.name()] += 1
            self._logged_failures += 1
            if self._logged_failures <= MAX_LOGGED_FAILURES:
                log.error("delivery of %s key=%r to %s failed: %s", stats.name, msg.key(),
                          msg.topic(), err.str())
            if self._logged_failures == MAX_LOGGED_FAILURES:
                log.error("further delivery failures are counted and summarised at the end")

        return on_delivery


def _on_client_error(err: KafkaError) -> None:
    level = logging.ERROR if err.fatal() else logging.WARNING
    log.log(level, "kafka client error: %s", err.str())
