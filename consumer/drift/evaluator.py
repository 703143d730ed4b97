"""`Evaluator`: one drift report: read the flags' states, set the gauges, publish the record.

The detectors themselves run on every committed batch (`DataFeed`, `ConceptFeed`); a report
only reads their states and hands over the transitions since the previous one (with the times
the feeds stamped). Reports are scheduled by `EvaluationSchedule`, and made at once when a flag
changed (`DriftObserver.after_batch`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from consumer.drift.feed import ConceptFeed, DataFeed, EstimateFeed
from consumer.drift.join import LabelCounts
from consumer.drift.metrics import DriftMetrics
from consumer.drift.reports import report_record
from drift import ConceptState, EstimatedPerformance, SequentialReport

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
        data: DataFeed,
        metrics: DriftMetrics,
        *,
        concept: ConceptFeed | None = None,
        estimate: EstimateFeed | None = None,
        publisher: Publisher | None = None,
        source: ReportSource | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.data = data
        self.metrics = metrics
        self.concept = concept
        self.estimate = estimate
        self.publisher = publisher
        self.source = source if source is not None else ReportSource()
        self.wall = wall
        self.last_report: SequentialReport | None = None
        self.last_concept: ConceptState | None = None
        self.last_estimated: EstimatedPerformance | None = None
        self.last_record: dict[str, object] | None = None
        self.show_states()

    def show_states(self) -> None:
        """Set the gauges from fresh (or just reset) detectors, which have nothing to hand
        over yet: every flag down, statistics at zero."""
        m = self.metrics
        m.set_report(self.data.monitor.evaluate())
        if self.concept is None:
            m.set_concept(None)
        else:
            m.set_concept(self.concept.concept.evaluate(), self.concept.reference_mae)
        m.set_estimated(None if self.estimate is None else self.estimate.estimator.evaluate())

    def evaluate(self, labels: LabelCounts) -> dict[str, object]:
        """Report now: set the gauges, publish the report record, return it."""
        report = self.data.monitor.evaluate()
        concept = self.concept.concept.evaluate() if self.concept is not None else None
        if self.estimate is not None:
            self.estimate.flush()  # the waiting sampled events, stamped with this time
        estimated = self.estimate.estimator.evaluate() if self.estimate is not None else None
        evaluated_at = self.wall()
        transitions = self.data.times.take(report.transitions)
        if concept is not None and self.concept is not None:
            transitions += self.concept.times.take(concept.transitions)
        if estimated is not None and self.estimate is not None:
            transitions += self.estimate.times.take(estimated.transitions)
        if concept is not None or estimated is not None:  # merged: in time order
            transitions.sort(key=lambda t: (t["time"] is None, t["time"] or 0))
        m = self.metrics
        m.set_report(report)
        if concept is not None:
            m.set_concept(concept)
        if estimated is not None:
            m.set_estimated(estimated)
        m.last_evaluation.set(evaluated_at)
        m.evaluations.inc()
        src = self.source
        record = report_record(
            evaluated_at_ms=int(evaluated_at * 1000), model_version=src.model_version,
            group_id=src.group_id, instance=src.instance, data=report, concept=concept,
            transitions=transitions, labels=labels.as_dict(), estimated=estimated,
        )
        if self.publisher is not None:
            self.publisher.publish(record)
        self.last_report, self.last_concept, self.last_record = report, concept, record
        self.last_estimated = estimated
        for t in transitions:
            log.info("drift: %s %s (%s, statistic %.1f, event %d)", t["flag"], t["kind"],
                     t["detector"], t["statistic"], t["event"])
        return record

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
