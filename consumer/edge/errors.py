"""Errors the Kafka clients report outside a call: the `error_cb` of every client, and the
error events `consume()` returns. Counted (``diamond_kafka_errors_total``), logged rate-limited
per error name; a fatal one is kept for the loop to raise (`raise_if_fatal`).

Replaced: with a replica identity (`--replica-id`) a second process started with the same
identity fences this one: the group answers FENCED_INSTANCE_ID (the consumer turns fatal) and
the transaction coordinator fences the producer (`_FENCED`). `replaced_by` finds that fencing
error behind a `FatalKafkaError`, so the service can stop cleanly instead of failing.

Not every fencing is a replacement: when the brokers were unreachable for longer than the
session timeout, the group expires our static member, and librdkafka rejoins under a new
member id that the group then treats as a newer process with our identity (librdkafka issue
#3437): this process fences itself. `ClientErrors.outage_since` tells the two apart: a fencing
within a session timeout (plus a margin) of the last "all brokers down" / transport error is
taken as self-inflicted, and the service fails (exit 1) so that its supervisor restarts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from consumer.exceptions import FatalKafkaError
from consumer.ops.metrics import ConsumerMetrics
from consumer.ops.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

# Another process took over our identity: our static member or our transactional.id is fenced.
FENCING_CODES = frozenset(
    {KafkaError.FENCED_INSTANCE_ID, KafkaError.PRODUCER_FENCED, KafkaError._FENCED}
)
# A fatal consumer reports the generic _FATAL code; its text names the underlying error, as
# librdkafka words it (taken from librdkafka itself, not copied).
_FENCING_TEXTS = tuple(KafkaError(code).str() for code in sorted(FENCING_CODES))
# The brokers are out of reach (not one request failing): what lets a group expire a session.
OUTAGE_CODES = frozenset({KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT})


def is_fencing(err: KafkaError) -> bool:
    """Is `err` this process being fenced by a newer one with the same identity?"""
    if err.code() in FENCING_CODES:
        return True
    return err.code() == KafkaError._FATAL and any(t in err.str() for t in _FENCING_TEXTS)


def replaced_by(exc: BaseException) -> KafkaError | None:
    """The fencing error among `exc`'s causes and contexts, None when there is none."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, KafkaException) and current.args:
            err = current.args[0]
            if isinstance(err, KafkaError) and is_fencing(err):
                return err
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


def split_errors(messages: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """`consume()`'s messages as (data, error events), partition-EOF events dropped."""
    data, errors = [], []
    for msg in messages:
        err = msg.error()
        if err is None:
            data.append(msg)
        elif err.code() != KafkaError._PARTITION_EOF:
            errors.append(msg)
    return data, errors


class ClientErrors:
    def __init__(
        self, metrics: ConsumerMetrics, *, logger: logging.Logger = log,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self.fatal: KafkaError | None = None
        self.log = logger
        self.clock = clock
        self.last_outage: float | None = None  # clock time of the last OUTAGE_CODES error
        self._limited = RateLimitedLog(logger)

    def __call__(self, err: KafkaError) -> None:
        """The clients' `error_cb` (runs in a librdkafka thread)."""
        self.metrics.kafka_errors.inc()
        if err.code() in OUTAGE_CODES:
            self.last_outage = self.clock()
        if err.fatal():
            self.fatal = err
            self.log.error("fatal Kafka client error: %s", err)
        else:
            self._limited.log(logging.WARNING, err.name(), "Kafka client error: %s", err)

    def on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """The consumer's `on_commit` (served by `consume()`): an asynchronous offset commit
        that failed is logged; the next commit covers its offsets (consumer.edge.delivery)."""
        failed = [tp for tp in partitions if tp.error is not None]
        if err is None and not failed:
            return
        self.metrics.kafka_errors.inc()
        reason = err if err is not None else failed[0].error
        self._limited.log(
            logging.WARNING, "offset_commit", "offset commit failed (outputs are written; the "
            "next commit covers it): %s on %s", reason,
            ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in partitions),
        )

    def outage_within(self, seconds: float) -> bool:
        """Were the brokers out of reach in the last `seconds`?"""
        return self.last_outage is not None and self.clock() - self.last_outage <= seconds

    def raise_if_fatal(self) -> None:
        if self.fatal is not None:
            raise FatalKafkaError(f"fatal Kafka client error: {self.fatal}") from KafkaException(
                self.fatal
            )

    def on_consume_error(self, err: KafkaError, topic: str | None, partition: int | None) -> None:
        """An error event from `consume()` (not end-of-partition): fatal raises. A consumer
        that turned fatal (e.g. fenced) reports `_FATAL` with `fatal()` False: fatal too."""
        if err.fatal() or err.code() == KafkaError._FATAL:
            raise FatalKafkaError(f"fatal consumer error: {err}") from KafkaException(err)
        self.metrics.kafka_errors.inc()
        self._limited.log(
            logging.ERROR, err.name(), "consume error on %s[%s]: %s", topic, partition, err,
        )
