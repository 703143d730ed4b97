"""Errors the Kafka clients report outside a call: the `error_cb` of every client, and the
error events `consume()` returns. Counted (``diamond_kafka_errors_total``), logged rate-limited
per error name; a fatal one is kept for the loop to raise (`raise_if_fatal`)."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError

from consumer.exceptions import FatalKafkaError
from consumer.ops.metrics import ConsumerMetrics
from consumer.ops.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


class ClientErrors:
    def __init__(self, metrics: ConsumerMetrics, *, logger: logging.Logger = log) -> None:
        self.metrics = metrics
        self.fatal: KafkaError | None = None
        self.log = logger
        self._limited = RateLimitedLog(logger)

    def __call__(self, err: KafkaError) -> None:
        """The clients' `error_cb` (runs in a librdkafka thread)."""
        self.metrics.kafka_errors.inc()
        if err.fatal():
            self.fatal = err
            self.log.error("fatal Kafka client error: %s", err)
        else:
            self._limited.log(logging.WARNING, err.name(), "Kafka client error: %s", err)

    def raise_if_fatal(self) -> None:
        if self.fatal is not None:
            raise FatalKafkaError(f"fatal Kafka client error: {self.fatal}")

    def on_consume_error(self, err: KafkaError, topic: str | None, partition: int | None) -> None:
        """An error event from `consume()` (not end-of-partition): fatal raises."""
        if err.fatal():
            raise FatalKafkaError(f"fatal consumer error: {err}")
        self.metrics.kafka_errors.inc()
        self._limited.log(
            logging.ERROR, err.name(), "consume error on %s[%s]: %s", topic, partition, err,
        )
