"""Prometheus metrics of the retrainer (prefix ``diamond_retrainer_``), on an injected registry.

Label values are bounded and pre-initialised: eviction kinds (`EVICTION_KINDS`), training
outcomes (`OUTCOMES`), decisions (`DECISION_KINDS`), models (`MODELS`, `HOLDOUT_MODELS`), invalid
record kinds (`RECORD_KINDS`). Scores unknown yet are NaN.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from retrainer.triggers import GATE_DECISIONS, TRIGGER_KINDS
from retrainer.window import EVICTION_KINDS

OUTCOMES: tuple[str, ...] = ("challenger", "rejected", "failed")
DECISION_KINDS: tuple[str, ...] = (
    *(f"trigger_{d}" for d in GATE_DECISIONS), "candidate_rejected", "training_failed",
    "promoted", "withdrawn", "announced_champion",
)
RECORD_KINDS: tuple[str, ...] = ("event", "label", "drift_report")
MODELS: tuple[str, ...] = ("champion", "challenger")  # live_mae
HOLDOUT_MODELS: tuple[str, ...] = ("candidate", "champion")  # holdout_mae


class RetrainerMetrics:
    """Every metric of the retrainer; one instance per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        p = "diamond_retrainer_"
        self.window_rows = Gauge(f"{p}window_rows", "Labelled rows in the window", registry=r)
        self.pending_events = Gauge(
            f"{p}pending_events", "Events awaiting their label", registry=r
        )
        self.evictions = Counter(
            f"{p}evictions", "Window evictions by kind (count or age bound)", ["kind"],
            registry=r,
        )
        self.waiting_labels = Gauge(
            f"{p}waiting_labels", "Labels read before their event, awaiting it", registry=r
        )
        self.unmatched_labels = Counter(
            f"{p}unmatched_labels", "Labels dropped unjoined (their event never came in time)",
            registry=r,
        )
        self.invalid_records = Counter(
            f"{p}invalid_records", "Records skipped as invalid, by kind", ["kind"], registry=r
        )
        self.triggers = Counter(
            f"{p}triggers", "Training triggers received, by kind", ["kind"], registry=r
        )
        self.trainings = Counter(
            f"{p}trainings", "Trainings by outcome", ["outcome"], registry=r
        )
        self.last_training_seconds = Gauge(
            f"{p}last_training_seconds", "Duration of the last training", registry=r
        )
        self.holdout_mae = Gauge(
            f"{p}holdout_mae", "Last candidate's and the champion's MAE on the held-out slice",
            ["model"], registry=r,
        )
        self.live_mae = Gauge(
            f"{p}live_mae", "MAE on live labels since the challenger was registered",
            ["model"], registry=r,
        )
        self.live_labels = Gauge(
            f"{p}live_labels", "Live labels compared (champion vs challenger)", registry=r
        )
        self.promotions = Counter(f"{p}promotions", "Challengers promoted", registry=r)
        self.decisions = Counter(
            f"{p}decisions", "Decisions taken, by kind", ["decision"], registry=r
        )
        for kind in EVICTION_KINDS:
            self.evictions.labels(kind=kind)
        for kind in RECORD_KINDS:
            self.invalid_records.labels(kind=kind)
        for kind in TRIGGER_KINDS:
            self.triggers.labels(kind=kind)
        for outcome in OUTCOMES:
            self.trainings.labels(outcome=outcome)
        for decision in DECISION_KINDS:
            self.decisions.labels(decision=decision)
        for model in HOLDOUT_MODELS:
            self.holdout_mae.labels(model=model).set(float("nan"))
        for model in MODELS:
            self.live_mae.labels(model=model).set(float("nan"))
        self.last_training_seconds.set(float("nan"))

    def evicted(self, kind: str, n: int) -> None:
        """`JoinWindow`'s `on_evict`."""
        self.evictions.labels(kind=kind).inc(n)
