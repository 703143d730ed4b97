"""Drift reports: one JSON record per evaluation on `drift_reports_topic`, key = the instance id.

::

    {"evaluated_at": 1767225600123,            epoch ms
     "model_version": "hgb-0123456789ab", "group_id": "diamond-scorer",
     "instance": "host-1234",                  this consumer process (also the record key)
     "n_seen": 120000,                         events fed to the drift monitor since start
     "data": {...},                            drift.DriftReport.to_dict(): n_rows, n_seen, effect,
                                               features{name: FeatureDrift}, prediction, dataset
     "concept": {...} | null,                  drift.ConceptReport.to_dict(); null: no label join
     "labels": {"received": 0, "matched": 0, "unmatched": 0, "late": 0, "invalid": 0}}

Statistics that cannot be computed are null (never NaN). Reports are written by their own plain
idempotent producer, outside the scoring transaction: a report is not per-event, a duplicate is
harmless, and a report that cannot be written is logged and counted
(``diamond_drift_report_failures_total``), never a reason to stop scoring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from common.kafka.exceptions import QueueFullError
from common.kafka.producing import Record, produce_all
from consumer.monitoring.join import LABEL_OUTCOMES
from consumer.ratelimit import RateLimitedLog
from drift import ConceptReport, DriftReport

log = logging.getLogger(__name__)

FLUSH_TIMEOUT = 10.0


def report_record(
    *,
    evaluated_at_ms: int,
    model_version: str,
    group_id: str,
    instance: str,
    n_seen: int,
    data: DriftReport,
    concept: ConceptReport | None,
    labels: Mapping[str, int],
) -> dict[str, Any]:
    """The JSON-safe drift-report record of one evaluation."""
    return {
        "evaluated_at": evaluated_at_ms,
        "model_version": model_version,
        "group_id": group_id,
        "instance": instance,
        "n_seen": n_seen,
        "data": data.to_dict(),
        "concept": None if concept is None else concept.to_dict(),
        "labels": {k: int(labels.get(k, 0)) for k in LABEL_OUTCOMES},
    }


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
            produce_all(producer, [Record(self.topic, self.key, orjson.dumps(record))],
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
