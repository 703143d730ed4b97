"""Prometheus series of the drift monitor and the label join, against an injected registry.

Names are fixed: the Grafana dashboard and the alert rules query them. The only label is
``feature``, whose values are the profile's input features (six, bounded); every per-feature
series is created at start so dashboards and alerts see it before the first evaluation.

What a value means before or without an evaluation:

* ``..._drift_detected`` is 0 until an evaluation flags something: 0 means "not flagged", never
  "checked and fine" on its own. A feature is never flagged before the window holds the
  monitor's `min_window` rows (half the window), so read it with ``diamond_drift_window_fill``
  against ``diamond_drift_window_size`` and ``diamond_drift_evaluations_total``.
* statistics that cannot be computed (an empty window, no prediction reference, no labels yet)
  are set to NaN, never left at an older value: a gauge never shows a stale window's statistic.
* ``diamond_drift_last_evaluation_timestamp_seconds`` is 0 until the first evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from drift import ConceptReport, DriftReport, FeatureDrift

NAN = float("nan")
EVALUATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
def _value(x: float | None) -> float:
    return NAN if x is None or not math.isfinite(x) else float(x)


class DriftMetrics:
    """Every drift and label series; one instance per registry."""

    def __init__(self, registry: CollectorRegistry, features: Sequence[str]) -> None:
        r = registry
        self.features = tuple(features)

        def feature_gauge(name: str, doc: str) -> Gauge:
            return Gauge(f"diamond_feature_drift_{name}", doc, ["feature"], registry=r)

        self.feature_statistic = feature_gauge(
            "statistic", "Test statistic of the window (KS numeric, chi-square categorical)"
        )
        self.feature_p_value = feature_gauge("p_value", "p-value of the two-sample test")
        self.feature_effect_size = feature_gauge(
            "effect_size", "Effect size the flag uses (PSI) on the reference's bins"
        )
        self.feature_distance = feature_gauge(
            "distance", "Normalised Wasserstein (numeric) / Jensen-Shannon (categorical) distance"
        )
        self.feature_threshold = feature_gauge(
            "threshold", "Effect-size threshold, calibrated at training for this window size"
        )
        self.feature_detected = feature_gauge(
            "detected", "1 when the last evaluation flagged the feature, else 0"
        )
        self.prediction_statistic = Gauge(
            "diamond_prediction_drift_statistic", "KS statistic of the predicted prices",
            registry=r,
        )
        self.prediction_p_value = Gauge(
            "diamond_prediction_drift_p_value", "KS p-value of the predicted prices", registry=r
        )
        self.prediction_effect_size = Gauge(
            "diamond_prediction_drift_effect_size", "PSI of the predicted prices", registry=r
        )
        self.prediction_detected = Gauge(
            "diamond_prediction_drift_detected", "1 when the predictions drifted", registry=r
        )
        self.dataset_share = Gauge(
            "diamond_dataset_drift_share", "Share of the input features flagged", registry=r
        )
        self.dataset_detected = Gauge(
            "diamond_dataset_drift_detected", "1 when the share reaches its threshold", registry=r
        )
        self.concept_mae = Gauge(
            "diamond_concept_window_mae", "MAE over the window of labelled predictions", registry=r
        )
        self.concept_rmse = Gauge(
            "diamond_concept_window_rmse", "RMSE over the window of labelled predictions",
            registry=r,
        )
        self.concept_reference_mae = Gauge(
            "diamond_concept_reference_mae", "MAE of the model on the held-out split", registry=r
        )
        self.concept_mae_ratio = Gauge(
            "diamond_concept_mae_ratio", "Window MAE / reference MAE", registry=r
        )
        self.concept_detected = Gauge(
            "diamond_concept_drift_detected",
            "1 when the MAE ratio is over its threshold or the sequential detector alarmed",
            registry=r,
        )
        self.window_fill = Gauge(
            "diamond_drift_window_fill",
            "Rows in the drift window (filling until = size; updated every few thousand events)",
            registry=r,
        )
        self.window_size = Gauge(
            "diamond_drift_window_size", "Capacity of the drift window", registry=r
        )
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
        for reason in ("size", "ttl"):
            self.cache_evictions.labels(reason=reason)
        self.label_cache_size = Gauge(
            "diamond_label_cache_size", "Predictions cached for the label join", registry=r
        )
        self.labels_pending = Gauge(
            "diamond_labels_pending", "Labels waiting for their prediction to be scored",
            registry=r,
        )
        for name in self.features:
            for gauge in (
                self.feature_statistic, self.feature_p_value, self.feature_effect_size,
                self.feature_distance, self.feature_threshold,
            ):
                gauge.labels(feature=name).set(NAN)
            self.feature_detected.labels(feature=name).set(0)
        self.set_concept(None)
        self.set_prediction(None)
        self.dataset_share.set(NAN)

    def set_report(self, report: DriftReport) -> None:
        """Set every data-drift series from one evaluation (features outside the profile are
        ignored, so the ``feature`` label stays bounded)."""
        for name in self.features:
            fd = report.features.get(name)
            if fd is None:
                continue
            self.feature_statistic.labels(feature=name).set(_value(fd.statistic))
            self.feature_p_value.labels(feature=name).set(_value(fd.p_value))
            self.feature_effect_size.labels(feature=name).set(_value(fd.effect_size))
            self.feature_distance.labels(feature=name).set(_value(fd.distance))
            self.feature_threshold.labels(feature=name).set(_value(fd.threshold))
            self.feature_detected.labels(feature=name).set(int(fd.drift_detected))
        self.set_prediction(report.prediction)
        self.dataset_share.set(_value(report.dataset.share))
        self.dataset_detected.set(int(report.dataset.drift_detected))
        self.window_fill.set(report.n_rows)

    def set_prediction(self, fd: FeatureDrift | None) -> None:
        if fd is None:
            for gauge in (
                self.prediction_statistic, self.prediction_p_value, self.prediction_effect_size
            ):
                gauge.set(NAN)
            self.prediction_detected.set(0)
            return
        self.prediction_statistic.set(_value(fd.statistic))
        self.prediction_p_value.set(_value(fd.p_value))
        self.prediction_effect_size.set(_value(fd.effect_size))
        self.prediction_detected.set(int(fd.drift_detected))

    def set_concept(self, report: ConceptReport | None, reference_mae: float | None = None) -> None:
        """Concept series from a report; None (no labels monitor, or none yet): NaN and 0."""
        if report is None:
            for gauge in (self.concept_mae, self.concept_rmse, self.concept_mae_ratio):
                gauge.set(NAN)
            self.concept_reference_mae.set(_value(reference_mae))
            self.concept_detected.set(0)
            return
        self.concept_mae.set(_value(report.mae))
        self.concept_rmse.set(_value(report.rmse))
        self.concept_reference_mae.set(_value(report.reference_mae))
        self.concept_mae_ratio.set(_value(report.mae_ratio))
        self.concept_detected.set(int(report.drift_detected))
