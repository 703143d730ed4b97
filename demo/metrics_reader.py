"""Read the consumer's /metrics: rates from counter deltas, quantiles from histogram buckets.

`parse(text)` turns an exposition into a `Scrape` (both from `common.prometheus_text`,
re-exported here); `consumer_status(previous, current)` derives what the live view shows. Rates
are counter deltas over the time between two scrapes; latency quantiles come from the bucket
deltas of that interval, through PromQL's `histogram_quantile` (cumulative buckets when nothing
moved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from common.prometheus_text import Scrape, fetch, histogram_quantile, parse

__all__ = ["ConsumerStatus", "FeatureStatus", "MetricsReader", "Scrape", "bucket_delta",
           "consumer_status", "fetch", "parse", "quantile", "rate"]

FEATURE = "feature"


def rate(previous: Scrape | None, current: Scrape, name: str) -> float | None:
    """Per-second increase of counter ``name`` (summed over labels) between two scrapes."""
    if previous is None:
        return None
    before, after = previous.total(name), current.total(name)
    elapsed = current.at - previous.at
    if before is None or after is None or elapsed <= 0:
        return None
    return max(after - before, 0.0) / elapsed  # a restart resets counters: no negative rate


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """PromQL's histogram_quantile on cumulative (upper bound, count) buckets; None where
    Prometheus gives NaN (no +Inf bucket, no observation)."""
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], got {q}")
    value = histogram_quantile(q, buckets)
    return None if math.isnan(value) else value


def bucket_delta(previous: Scrape | None, current: Scrape,
                 name: str) -> list[tuple[float, float]]:
    """Buckets of the observations made between two scrapes (cumulative ones if none)."""
    now = current.buckets(name)
    if previous is None:
        return now
    before = dict(previous.buckets(name))
    delta = [(le, count - before.get(le, 0.0)) for le, count in now]
    if not delta or delta[-1][1] <= 0:
        return now
    return delta


@dataclass(frozen=True)
class FeatureStatus:
    """One drift flag: its sequential statistic against the threshold that changes its state."""

    statistic: float | None
    threshold: float | None
    detected: bool


@dataclass(frozen=True)
class ConsumerStatus:
    """What the live view shows about the consumer, from one or two scrapes."""

    at: float
    rate_in: float | None = None
    rate_out: float | None = None
    consumed: float = 0.0
    predictions: float = 0.0
    dlq: float = 0.0
    latency: dict[float, float | None] = field(default_factory=dict)
    lag: float | None = None
    features: dict[str, FeatureStatus] = field(default_factory=dict)
    prediction: FeatureStatus | None = None
    dataset_share: float | None = None
    dataset_detected: bool = False
    concept_mae_ratio: float | None = None
    concept_detected: bool = False
    concept: FeatureStatus | None = None
    labels_matched: float | None = None
    estimated_mae: float | None = None  # label-free (the loss model), since the last report
    estimated_mae_ratio: float | None = None
    estimated: FeatureStatus | None = None  # None: the model has no loss model
    drift_events: float | None = None
    last_evaluation: float | None = None


LATENCY = "diamond_end_to_end_latency_seconds"
QUANTILES = (0.5, 0.95, 0.99)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _flag_status(c: Scrape, prefix: str) -> FeatureStatus | None:
    detected = c.value(f"{prefix}_detected")
    if detected is None:
        return None
    return FeatureStatus(_finite(c.value(f"{prefix}_statistic")),
                         _finite(c.value(f"{prefix}_threshold")), detected >= 1)


def consumer_status(previous: Scrape | None, current: Scrape) -> ConsumerStatus:
    c = current
    buckets = bucket_delta(previous, c, LATENCY)
    statistics = c.by_label("diamond_feature_drift_statistic", FEATURE)
    thresholds = c.by_label("diamond_feature_drift_threshold", FEATURE)
    flags = c.by_label("diamond_feature_drift_detected", FEATURE)
    features = {
        name: FeatureStatus(_finite(statistics.get(name)), _finite(thresholds.get(name)),
                            flags.get(name, 0.0) >= 1)
        for name in dict.fromkeys([*statistics, *flags])  # the consumer's order
    }
    return ConsumerStatus(
        at=c.at,
        rate_in=rate(previous, c, "diamond_events_consumed_total"),
        rate_out=rate(previous, c, "diamond_predictions_published_total"),
        consumed=c.total("diamond_events_consumed_total") or 0.0,
        predictions=c.total("diamond_predictions_published_total") or 0.0,
        dlq=c.total("diamond_dlq_published_total") or 0.0,
        latency={q: quantile(q, buckets) for q in QUANTILES},
        lag=c.value("diamond_consumer_lag_total"),
        features=features,
        prediction=_flag_status(c, "diamond_prediction_drift"),
        dataset_share=_finite(c.value("diamond_dataset_drift_share")),
        dataset_detected=(c.value("diamond_dataset_drift_detected") or 0) >= 1,
        concept_mae_ratio=_finite(c.value("diamond_concept_mae_ratio")),
        concept_detected=(c.value("diamond_concept_drift_detected") or 0) >= 1,
        concept=_flag_status(c, "diamond_concept_drift"),
        labels_matched=c.total("diamond_labels_matched_total"),
        estimated_mae=_finite(c.value("diamond_estimated_mae")),
        estimated_mae_ratio=_finite(c.value("diamond_estimated_mae_ratio")),
        estimated=_flag_status(c, "diamond_estimated_drift"),
        drift_events=c.total("diamond_drift_events_total"),
        last_evaluation=c.value("diamond_drift_last_evaluation_timestamp_seconds"),
    )


class MetricsReader:
    """Scrapes one /metrics URL and keeps the previous scrape for rates."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url
        self.timeout = timeout
        self.previous: Scrape | None = None
        self.last: ConsumerStatus | None = None

    def read(self) -> ConsumerStatus | None:
        """A fresh status, or None when the endpoint does not answer (the last one is kept)."""
        try:
            current = fetch(self.url, self.timeout)
        except (OSError, ValueError):
            return None
        self.last = consumer_status(self.previous, current)
        self.previous = current
        return self.last
