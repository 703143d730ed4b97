"""`Evaluator`: one drift evaluation: read both monitors, set the gauges, publish the report.

Evaluation (~20-25 ms, on the loop thread) is scheduled by `EvaluationSchedule`; each one sets
the gauges (`DriftMetrics`) and publishes a report record (`ReportPublisher`, if any).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from consumer.drift.join import LabelCounts
from consumer.drift.metrics import DriftMetrics
from consumer.drift.reports import report_record
from drift import ConceptDriftMonitor, ConceptReport, DriftMonitor, DriftReport

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """What the evaluator needs of `ReportPublisher` (tests record instead)."""

    def publish(self, record: Mapping[str, Any]) -> bool: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class ReportSource:
    """Who writes the reports: the model scored with, the group and this instance."""

    model_version: str = ""
    group_id: str = ""
    instance: str = ""


class Evaluator:
    def __init__(
        self,
        monitor: DriftMonitor,
        metrics: DriftMetrics,
        *,
        concept: ConceptDriftMonitor | None = None,
        publisher: Publisher | None = None,
        source: ReportSource | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.monitor = monitor
        self.metrics = metrics
        self.concept = concept
        self.publisher = publisher
        self.source = source if source is not None else ReportSource()
        self.wall = wall
        self.last_report: DriftReport | None = None
        self.last_concept: ConceptReport | None = None
        self.last_record: dict[str, object] | None = None
        metrics.window_size.set(monitor.window_size)
        metrics.set_report(monitor.evaluate())  # empty window: NaN statistics, nothing flagged
        metrics.set_concept(None, concept.reference.mae if concept is not None else None)

    def evaluate(self, labels: LabelCounts) -> dict[str, object]:
        """Evaluate now: set the gauges, publish the report record, return it."""
        report = self.monitor.evaluate()
        concept = self.concept.evaluate() if self.concept is not None else None
        evaluated_at = self.wall()
        m = self.metrics
        m.set_report(report)
        if concept is not None:
            m.set_concept(concept)
        m.last_evaluation.set(evaluated_at)
        m.evaluations.inc()
        src = self.source
        record = report_record(
            evaluated_at_ms=int(evaluated_at * 1000), model_version=src.model_version,
            group_id=src.group_id, instance=src.instance, n_seen=self.monitor.n_seen,
            data=report, concept=concept, labels=labels.as_dict(),
        )
        if self.publisher is not None:
            self.publisher.publish(record)
        self.last_report, self.last_concept, self.last_record = report, concept, record
        if report.drifted_features or (concept is not None and concept.drift_detected):
            log.info(
                "drift: features %s, prediction %s, concept %s (window %d rows, %d seen)",
                list(report.drifted_features) or "none",
                bool(report.prediction and report.prediction.drift_detected),
                None if concept is None else concept.drift_detected,
                report.n_rows, report.n_seen,
            )
        return record

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
