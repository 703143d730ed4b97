"""Frozen result objects returned by the monitors; `to_dict()` gives JSON-safe dicts.

Statistics that cannot be computed (an empty window) are NaN on the objects and None in
`to_dict()`, and every flag is False.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _to_dict(obj: Any) -> dict[str, Any]:
    return {key: _clean(value) for key, value in asdict(obj).items()}


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column over the current window.

    `distance` is the Wasserstein distance over the reference scale (numeric) or the
    Jensen-Shannon distance (categorical). `effect_size` is the one the flag uses (PSI unless
    the monitor was built with ``effect="distance"``) and `threshold` the bar it had to clear.
    """

    feature: str
    kind: Literal["numeric", "categorical"]
    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float
    psi: float
    distance: float
    effect_size: float
    threshold: float
    drift_detected: bool
    window_size: int

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(frozen=True)
class DatasetDrift:
    """Share of input features flagged; the dataset drifts when it reaches the share threshold."""

    n_features: int
    n_drifted: int
    share: float
    drift_detected: bool

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(frozen=True)
class DriftReport:
    """One evaluation of a `DriftMonitor`: per feature, for the predictions, for the dataset."""

    features: dict[str, FeatureDrift]
    prediction: FeatureDrift | None
    dataset: DatasetDrift
    n_rows: int
    n_seen: int
    effect: Literal["psi", "distance"]

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(name for name, fd in self.features.items() if fd.drift_detected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_seen": self.n_seen,
            "effect": self.effect,
            "features": {name: fd.to_dict() for name, fd in self.features.items()},
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "dataset": self.dataset.to_dict(),
        }


@dataclass(frozen=True)
class ConceptReport:
    """Error level over the window of labelled rows, against the held-out reference.

    `detector_alarm` stays True from the detector's first alarm until `reset()`; `n_alarms`
    counts alarms over the same span.
    """

    n_labels: int
    mae: float
    rmse: float
    reference_mae: float
    reference_rmse: float
    mae_ratio: float
    rmse_ratio: float
    detector_name: str
    detector_alarm: bool
    n_alarms: int
    drift_detected: bool

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)
