"""Prometheus series of model changes and of champion vs challenger, on an injected registry.

``diamond_model_info`` (in `consumer.ops.metrics`) switches to the new version at each swap;
these count and compare. Labels are bounded: ``alias`` is champion or challenger, ``reason`` one
of `REFUSAL_REASONS`, ``model`` champion or challenger.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from common.contracts.models import ALIASES

REFUSAL_REASONS = ("verification", "load", "invalid_announcement")
SHADOW_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


class ModelMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.swaps = Counter(
            "diamond_model_swaps", "Models swapped in between two batches, by alias",
            ["alias"], registry=r,
        )
        self.refused = Counter(
            "diamond_model_refused",
            "Announced models refused (failed verification or load, or a bad announcement)",
            ["reason"], registry=r,
        )
        self.load_seconds = Histogram(
            "diamond_model_load_seconds", "Seconds to load and verify an announced model (off "
            "the hot path)", registry=r,
        )
        self.swap_delay = Histogram(
            "diamond_model_swap_delay_seconds",
            "Seconds from a verified model's offer to its swap (waits for the batch in flight)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=r,
        )
        self.challenger_info = Gauge(
            "diamond_model_challenger", "1 for the version shadow-scored as challenger",
            ["version"], registry=r,
        )
        self.shadow_seconds = Histogram(
            "diamond_shadow_scoring_seconds", "Seconds of the challenger's predict per batch",
            buckets=SHADOW_BUCKETS, registry=r,
        )
        self.shadow_failures = Counter(
            "diamond_shadow_scoring_failures", "Batches the challenger failed to score",
            registry=r,
        )
        self.window_mae = Gauge(
            "diamond_concept_window_mae",
            "MAE of the last --model-window joined labels, per model (challenger: shadow)",
            ["model"], registry=r,
        )
        self.window_labels = Gauge(
            "diamond_concept_window_labels", "Joined labels in that window, per model",
            ["model"], registry=r,
        )
        for alias in ALIASES:
            self.swaps.labels(alias=alias)
        for reason in REFUSAL_REASONS:
            self.refused.labels(reason=reason)
        # the champion's series exist from the start (NaN: no label joined yet)
        self.window_mae.labels(model="champion").set(float("nan"))
        self.window_labels.labels(model="champion").set(0)
