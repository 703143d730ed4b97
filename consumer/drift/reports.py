"""Drift reports: one record per report on `drift_reports_topic`, key = the instance id.

The record's format is `common.contracts.drift_reports`: the consumer assembles it here from the
`drift` package's reports (which know nothing of Kafka) and the label counts.

Reports are written by their own plain idempotent producer, outside the scoring transaction: a
report is not per-event, a duplicate is harmless, and a report that cannot be written is logged
and counted (``diamond_drift_report_failures_total``), never a reason to stop scoring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from common.contracts.drift_reports import drift_report_record, encode_drift_report
from common.kafka.exceptions import QueueFullError
from common.kafka.producing import Record, produce_all
from consumer.ops.ratelimit import RateLimitedLog
from drift import ConceptState, EstimatedPerformance, SequentialReport

log = logging.getLogger(__name__)

FLUSH_TIMEOUT = 10.0


def report_record(
    *,
    evaluated_at_ms: int,
    model_version: str,
    group_id: str,
    instance: str,
    data: SequentialReport,
    concept: ConceptState | None,
    transitions: Sequence[Mapping[str, Any]],
    labels: Mapping[str, int],
    estimated: EstimatedPerformance | None = None,
) -> dict[str, Any]:
    """The JSON-safe drift-report record of one report (`transitions`: timed, in order)."""
    return drift_report_record(
        evaluated_at_ms=evaluated_at_ms,
        model_version=model_version,
        group_id=group_id,
        instance=instance,
        n_seen=data.n_seen,
        data=data.to_dict(),
        concept=None if concept is None else concept.to_dict(),
        transitions=transitions,
        labels=labels,
        estimated=None if estimated is None else estimated.to_dict(),
    )


class ReportPublisher:
    """Produce report records; no network call before `start()`; a context manager."""

    def __init__(
        self,
        config: Mapping[str, Any],
        topic: str,
        key: str,
        on_failure: Callable[[], None],
        *,
        producer_factory: Callable[[dict[str, Any]], Any] = Producer,
    ) -> None:
        self.config = dict(config)
        self.topic = topic
        self.key = key.encode()
        self.on_failure = on_failure
        self.producer_factory = producer_factory
        self.published = 0
        self._producer: Any = None
        self._log = RateLimitedLog(log)

    def start(self) -> ReportPublisher:
        if self._producer is None:
            self._producer = self.producer_factory(self.config)
        return self

    def publish(self, record: Mapping[str, Any]) -> bool:
        """Hand one record to librdkafka; False (logged, counted) when it refused it."""
        producer = self.start()._producer
        try:  # timeout 0: a full queue refuses the report at once, as produce() would
            produce_all(producer, [Record(self.topic, self.key, encode_drift_report(record))],
                        timeout=0, on_delivery=self._on_delivery, poll_every=0)
        except (QueueFullError, KafkaException, TypeError) as exc:
            self._failed("produce", f"cannot queue a drift report for {self.topic}: {exc}")
            return False
        finally:
            producer.poll(0)
        return True

    def close(self, timeout: float = FLUSH_TIMEOUT) -> None:
        if self._producer is None:
            return
        remaining = self._producer.flush(timeout)
        if remaining:
            for _ in range(remaining):
                self.on_failure()
            log.error("%d drift reports undelivered after %.0f s at close", remaining, timeout)
        self._producer = None

    def __enter__(self) -> ReportPublisher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.published += 1
        else:
            self._failed("delivery", f"drift report to {msg.topic()} failed: {err}")

    def _failed(self, key: str, message: str) -> None:
        self.on_failure()
        self._log.log(logging.WARNING, key, "%s", message)
