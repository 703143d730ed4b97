"""Frozen results of the sequential monitors; `to_dict()` gives JSON-safe dicts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from drift.sequential.flag import Transition


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class FlagState:
    """One flag now: up or down, its statistic against its threshold (nats).

    While down, `statistic` is the detection bank's largest CUSUM and `threshold` its ``h``;
    while up, they are the clearing statistic and its threshold, `since` is the event that
    raised the flag, `detector` the bank member that did, and `expected_clear_events` how many
    reference-like events clear it (about).
    """

    flag: str
    drift_detected: bool
    statistic: float
    threshold: float
    detector: str
    since: int | None
    expected_clear_events: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag, "drift_detected": self.drift_detected,
            "statistic": finite_or_none(self.statistic),
            "threshold": finite_or_none(self.threshold),
            "detector": self.detector, "since": self.since,
            "expected_clear_events": finite_or_none(self.expected_clear_events),
        }


@dataclass(frozen=True)
class SequentialReport:
    """States of every flag and the transitions since the previous report.

    `features` and `prediction` are per-column flags, `dataset` is up while any feature is.
    `gamma` is the configured expected run time without drift, in events, per flag.
    """

    features: dict[str, FlagState]
    prediction: FlagState | None
    dataset: FlagState
    transitions: tuple[Transition, ...]
    n_seen: int
    gamma: float

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(name for name, state in self.features.items() if state.drift_detected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_seen": self.n_seen,
            "gamma": self.gamma,
            "features": {name: state.to_dict() for name, state in self.features.items()},
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "dataset": self.dataset.to_dict(),
            "transitions": [t.to_dict() for t in self.transitions],
        }


@dataclass(frozen=True)
class ConceptState:
    """The concept flag on labelled events and its transitions since the previous report."""

    flag: FlagState
    transitions: tuple[Transition, ...]
    n_labels: int
    mae_ratio: float  # mean absolute error since the last report over the reference MAE
    gamma: float

    @property
    def drift_detected(self) -> bool:
        return self.flag.drift_detected

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_labels": self.n_labels,
            "gamma": self.gamma,
            "mae_ratio": finite_or_none(self.mae_ratio),
            "flag": self.flag.to_dict(),
            "transitions": [t.to_dict() for t in self.transitions],
        }
