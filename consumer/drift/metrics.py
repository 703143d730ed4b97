"""Prometheus series of the drift flags and the label join, against an injected registry.

Names are fixed: the Grafana dashboard and the alert rules query them. Labels are bounded:
``feature`` is one of the profile's input features (six), ``flag`` one of those, ``prediction``,
``dataset``, ``concept`` or ``estimated_performance``, ``kind`` ``drift_started`` or
``drift_ended``; every series is created at start so dashboards and alerts see it before the
first report.

Each flag is a state (`drift.sequential`): ``..._drift_detected`` is 1 from the event that raised
the flag to the event that cleared it. ``..._statistic`` is the sequential statistic (nats) and
``..._threshold`` the value it must reach to change the state: the detection threshold while the
flag is down, the clearing threshold while it is up. Gauges are refreshed at every report (each
`drift_eval_interval` / `drift_eval_every`, and at once when a flag changes);
``diamond_drift_transitions_total`` counts every change as it happens.

* statistics that cannot be computed (no prediction reference, no concept detector) are NaN.
* ``diamond_concept_mae_ratio`` is the MAE of the labels joined since the previous report over
  the held-out MAE (NaN when none): a diagnostic, the flag is ``diamond_concept_drift_detected``.
* ``diamond_estimated_mae`` / ``_rmse`` are the label-free estimates (`drift.estimation`) over
  the events scored since the previous report, ``diamond_estimated_mae_ratio`` the MAE's over
  the held-out MAE; ``diamond_estimated_drift_detected`` (with ``_statistic`` / ``_threshold``)
  is the flag "the model got materially worse" (estimated MAE above ~1.2x). All NaN (the flag
  0) when the model has no loss model.
* ``diamond_drift_last_evaluation_timestamp_seconds`` is 0 until the first report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from drift import ConceptState, EstimatedPerformance, FlagState, SequentialReport, Transition
from drift.estimation import FLAG as ESTIMATED_FLAG
from drift.sequential import CONCEPT, DATASET, ENDED, STARTED

NAN = float("nan")
EVALUATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
PREDICTION_FLAG = "prediction"


def _value(x: float | None) -> float:
    return NAN if x is None or not math.isfinite(x) else float(x)


class FlagSeries:
    """detected / statistic / threshold gauges of one unlabelled flag."""

    def __init__(self, registry: CollectorRegistry, prefix: str, what: str) -> None:
        self.detected = Gauge(
            f"{prefix}_detected", f"1 while the {what} drift flag is raised, else 0",
            registry=registry,
        )
        self.statistic = Gauge(
            f"{prefix}_statistic",
            f"Sequential statistic of the {what} flag (nats; the clearing one while raised)",
            registry=registry,
        )
        self.threshold = Gauge(
            f"{prefix}_threshold",
            f"Value the {what} statistic must reach to raise (or, while raised, clear) the flag",
            registry=registry,
        )
        self.set(None)

    def set(self, state: FlagState | None) -> None:
        if state is None:
            self.detected.set(0)
            self.statistic.set(NAN)
            self.threshold.set(NAN)
            return
        self.detected.set(int(state.drift_detected))
        self.statistic.set(_value(state.statistic))
        self.threshold.set(_value(state.threshold))


class DriftMetrics:
    """Every drift and label series; one instance per registry."""

    def __init__(self, registry: CollectorRegistry, features: Sequence[str]) -> None:
        r = registry
        self.features = tuple(features)

        def feature_gauge(name: str, doc: str) -> Gauge:
            return Gauge(f"diamond_feature_drift_{name}", doc, ["feature"], registry=r)

        self.feature_detected = feature_gauge(
            "detected", "1 while the feature's drift flag is raised, else 0"
        )
        self.feature_statistic = feature_gauge(
            "statistic", "Sequential statistic of the feature's flag (nats; the clearing one "
            "while raised)"
        )
        self.feature_threshold = feature_gauge(
            "threshold", "Value the statistic must reach to raise (or, while raised, clear) the "
            "feature's flag"
        )
        self.prediction = FlagSeries(r, "diamond_prediction_drift", "prediction")
        self.dataset = FlagSeries(r, "diamond_dataset_drift", "dataset (any feature)")
        self.concept = FlagSeries(r, "diamond_concept_drift", "concept (absolute error)")
        self.estimated = FlagSeries(r, "diamond_estimated_drift", "estimated performance")
        self.estimated_mae = Gauge(
            "diamond_estimated_mae",
            "MAE estimated without labels over the events since the previous report", registry=r
        )
        self.estimated_rmse = Gauge(
            "diamond_estimated_rmse",
            "RMSE estimated without labels over the events since the previous report",
            registry=r,
        )
        self.estimated_mae_ratio = Gauge(
            "diamond_estimated_mae_ratio", "Estimated MAE / reference (held-out) MAE", registry=r
        )
        self.dataset_share = Gauge(
            "diamond_dataset_drift_share", "Share of the input features flagged", registry=r
        )
        self.concept_reference_mae = Gauge(
            "diamond_concept_reference_mae", "MAE of the model on the held-out split", registry=r
        )
        self.concept_mae_ratio = Gauge(
            "diamond_concept_mae_ratio",
            "MAE of the labels joined since the previous report / reference MAE", registry=r
        )
        self.transitions = Counter(
            "diamond_drift_transitions", "Drift flags raised (drift_started) or cleared "
            "(drift_ended), as they happen", ["flag", "kind"], registry=r,
        )
        self.events = Counter(
            "diamond_drift_events", "Scored events fed to the drift detectors", registry=r
        )
        self.flags = (*self.features, PREDICTION_FLAG, DATASET, CONCEPT, ESTIMATED_FLAG)
        for flag in self.flags:
            for kind in (STARTED, ENDED):
                self.transitions.labels(flag=flag, kind=kind)
        self.last_evaluation = Gauge(
            "diamond_drift_last_evaluation_timestamp_seconds",
            "Unix time of the last drift evaluation (0: none yet)", registry=r,
        )
        self.evaluations = Counter(
            "diamond_drift_evaluations", "Drift evaluations run", registry=r
        )
        self.evaluation_duration = Histogram(
            "diamond_drift_evaluation_duration_seconds",
            "Time of one evaluation (data + concept + gauges + report hand-over)",
            buckets=EVALUATION_BUCKETS, registry=r,
        )
        self.report_failures = Counter(
            "diamond_drift_report_failures",
            "Drift reports that could not be published (the evaluation itself counted)",
            registry=r,
        )
        self.labels = {
            outcome: Counter(f"diamond_labels_{outcome}", doc, registry=r)
            for outcome, doc in (
                ("received", "Label messages consumed (committed)"),
                ("matched", "Labels joined to their cached prediction"),
                ("unmatched", "Labels with no cached prediction within label_pending_wait"),
                ("late", "Labels published more than label_cache_ttl after their event_time"),
                ("invalid", "Label messages that are not a valid label (logged, skipped)"),
            )
        }
        self.cache_evictions = Counter(
            "diamond_label_cache_evictions", "Predictions dropped from the label cache unjoined",
            ["reason"], registry=r,
        )
        for reason in ("size", "ttl", "model_change"):
            self.cache_evictions.labels(reason=reason)
        self.label_cache_size = Gauge(
            "diamond_label_cache_size", "Predictions cached for the label join", registry=r
        )
        self.labels_pending = Gauge(
            "diamond_labels_pending", "Labels waiting for their prediction to be scored",
            registry=r,
        )
        for name in self.features:
            self.feature_detected.labels(feature=name).set(0)
            self.feature_statistic.labels(feature=name).set(NAN)
            self.feature_threshold.labels(feature=name).set(NAN)
        self.dataset_share.set(NAN)
        self.concept_mae_ratio.set(NAN)
        self.concept_reference_mae.set(NAN)
        self.set_estimated(None)

    def count_transition(self, t: Transition) -> None:
        """One flag change (flags outside the bounded set are not counted)."""
        if t.flag in self.flags:
            self.transitions.labels(flag=t.flag, kind=t.kind).inc()

    def set_report(self, report: SequentialReport) -> None:
        """Set every data-drift series from one report (features outside the profile are
        ignored, so the ``feature`` label stays bounded)."""
        for name in self.features:
            state = report.features.get(name)
            if state is None:
                continue
            self.feature_detected.labels(feature=name).set(int(state.drift_detected))
            self.feature_statistic.labels(feature=name).set(_value(state.statistic))
            self.feature_threshold.labels(feature=name).set(_value(state.threshold))
        self.prediction.set(report.prediction)
        self.dataset.set(report.dataset)
        n = len(report.features)
        self.dataset_share.set(len(report.drifted_features) / n if n else NAN)

    def set_concept(self, state: ConceptState | None, reference_mae: float | None = None) -> None:
        """Concept series from a state; None (no concept detector): NaN and 0."""
        self.concept.set(None if state is None else state.flag)
        self.concept_mae_ratio.set(NAN if state is None else _value(state.mae_ratio))
        if reference_mae is not None:
            self.concept_reference_mae.set(_value(reference_mae))

    def set_estimated(self, state: EstimatedPerformance | None) -> None:
        """Estimated-performance series from an estimate; None (no loss model): NaN and 0."""
        self.estimated.set(None if state is None else state.flag)
        for gauge, value in (
            (self.estimated_mae, None if state is None else state.mae),
            (self.estimated_rmse, None if state is None else state.rmse),
            (self.estimated_mae_ratio, None if state is None else state.mae_ratio),
        ):
            gauge.set(_value(value))
