"""Prometheus metrics of the scoring service, all created against an injected registry.

Tests build a fresh `CollectorRegistry` and assert with `registry.get_sample_value(...)`.
Label values are bounded: `reason` comes from `model.schema.REASONS` (every reason is
pre-initialised at 0 so dashboards and alerts see the series), `topic`/`partition` from the
assignment (cleared on revoke).
"""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from model.schema import REASONS

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 100000)
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ConsumerMetrics:
    """Every metric of the service; one instance per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.events_consumed = Counter(
            "diamond_events_consumed", "Input events consumed (valid and invalid)", registry=r
        )
        self.predictions_published = Counter(
            "diamond_predictions_published", "Predictions durably written", registry=r
        )
        self.invalid_events = Counter(
            "diamond_invalid_events", "Invalid events by reason", ["reason"], registry=r
        )
        for reason in REASONS:
            self.invalid_events.labels(reason=reason)
        self.dlq_published = Counter(
            "diamond_dlq_published", "Dead-letter records durably written", registry=r
        )
        self.batches = Counter("diamond_batches", "Batches committed", registry=r)
        self.batch_size = Histogram(
            "diamond_batch_size", "Events per committed batch", buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.scoring_duration = Histogram(
            "diamond_scoring_duration_seconds", "pipeline.predict time per batch",
            buckets=DURATION_BUCKETS, registry=r,
        )
        self.batch_duration = Histogram(
            "diamond_batch_duration_seconds",
            "Whole batch time: decode, validate, score, write, commit",
            buckets=DURATION_BUCKETS, registry=r,
        )
        self.end_to_end_latency = Histogram(
            "diamond_end_to_end_latency_seconds",
            "Commit time of the prediction minus the event's event_time",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.consumer_lag = Gauge(
            "diamond_consumer_lag", "Events behind the last stable offset, per partition",
            ["topic", "partition"], registry=r,
        )
        self.consumer_lag_total = Gauge(
            "diamond_consumer_lag_total", "Sum of diamond_consumer_lag over the assignment",
            registry=r,
        )
        self.committed_offset = Gauge(
            "diamond_committed_offset", "Last committed offset (next event to read)",
            ["topic", "partition"], registry=r,
        )
        self.delivery_failures = Counter(
            "diamond_delivery_failures", "Output records whose delivery failed", registry=r
        )
        self.batch_retries = Counter(
            "diamond_batch_retries", "Batches rewound to the committed offsets and re-read",
            registry=r,
        )
        self.transactions_aborted = Counter(
            "diamond_transactions_aborted", "Transactions aborted (exactly-once)", registry=r
        )
        self.observer_errors = Counter(
            "diamond_observer_errors", "Exceptions raised by batch observers", ["observer"],
            registry=r,
        )
        self.kafka_errors = Counter(
            "diamond_kafka_errors", "Errors reported by the Kafka clients", registry=r
        )
        self.model_info = Info("diamond_model", "The model being served", registry=r)
        self.up = Gauge("diamond_consumer_up", "1 while the consume loop runs", registry=r)
        self.ready = Gauge(
            "diamond_consumer_ready", "1 when the model is loaded and the first poll is done",
            registry=r,
        )
        self.last_batch_timestamp = Gauge(
            "diamond_last_batch_timestamp_seconds", "Unix time of the last committed batch",
            registry=r,
        )

    def set_model(self, version: str, model_type: str, sha256: str) -> None:
        self.model_info.info({"version": version, "type": model_type, "sha256": sha256})

    def set_lag(self, lags: dict[tuple[str, int], int]) -> None:
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic=topic, partition=str(partition)).set(lag)
        self.consumer_lag_total.set(sum(lags.values()))

    def set_committed(self, topic: str, partition: int, offset: int) -> None:
        self.committed_offset.labels(topic=topic, partition=str(partition)).set(offset)

    def forget_partition(self, topic: str, partition: int) -> None:
        """Drop the per-partition series of a partition this instance no longer owns."""
        for gauge in (self.consumer_lag, self.committed_offset):
            try:
                gauge.remove(topic, str(partition))
            except KeyError:
                pass


def observe_many(histogram: Histogram, values: np.ndarray) -> None:
    """Observe every value, with one update per bucket instead of one locked call per value.

    Uses client_python's histogram internals (`_upper_bounds`, `_buckets`, `_sum`; stable for
    years, checked by a unit test against `observe`), else falls back to `observe` per value.
    """
    amounts = np.asarray(values, dtype=np.float64).reshape(-1)
    if amounts.size == 0:
        return
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for amount in amounts.tolist():
            histogram.observe(amount)
        return
    # Bucket i holds bound[i-1] < v <= bound[i], as in Histogram.observe.
    counts = np.bincount(np.searchsorted(bounds, amounts, side="left"), minlength=len(bounds))
    total.inc(float(amounts.sum()))
    for index in np.flatnonzero(counts).tolist():
        buckets[index].inc(int(counts[index]))
