"""`PerformanceEstimator`: the model's MAE and RMSE estimated from its inputs, before any label.

Direct Loss Estimation (as NannyML's DLE for regression): a small loss model, fitted at
training time on held-out rows, predicts each event's absolute error from its features and the
primary prediction; averaged over the events since the last report it estimates the MAE those
events will show once their labels arrive. The RMSE is ``sqrt(kappa * mean(loss^2))`` (see
`drift.estimation.reference`). Every event also goes through the alarm
(`drift.estimation.alarm`): raised when the estimated MAE is materially above the reference.

The band is a 95 % range for the realized MAE of those events given the estimate, from the
label noise alone (``Var(|e| | x) = (kappa - 1) * loss(x)^2``); it does not cover the loss
model's own error under a shift away from its reference (measured by the bench,
``performance_estimation``).

The loss model is anything with ``predict(frame) -> estimated absolute errors`` (one per row;
the frame holds the features and ``prediction``): the package stays free of scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from drift.estimation.alarm import FLAG, alarm_flag
from drift.estimation.reference import EstimationReference
from drift.exceptions import MissingColumnError
from drift.profile import PREDICTION
from drift.sequential.flag import Transition
from drift.sequential.monitor import CLEAR_GAMMA, GAMMA, check_gammas, flag_state
from drift.sequential.report import FlagState

Z95 = 1.959963984540054


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class LossModel(Protocol):
    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class EstimatedPerformance:
    """The estimate over the `n_events` events since the previous `evaluate` (NaN: none)."""

    n_events: int
    n_seen: int
    mae: float
    rmse: float
    mae_ratio: float  # estimated MAE / the reference (held-out) MAE
    rmse_ratio: float
    mae_low: float  # 95 % band of the realized MAE given the estimate (label noise only)
    mae_high: float
    flag: FlagState
    transitions: tuple[Transition, ...]
    gamma: float

    @property
    def drift_detected(self) -> bool:
        return self.flag.drift_detected

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_events": self.n_events, "n_seen": self.n_seen, "gamma": self.gamma,
            "mae": _finite(self.mae), "rmse": _finite(self.rmse),
            "mae_ratio": _finite(self.mae_ratio), "rmse_ratio": _finite(self.rmse_ratio),
            "mae_low": _finite(self.mae_low), "mae_high": _finite(self.mae_high),
            "flag": self.flag.to_dict(),
            "transitions": [t.to_dict() for t in self.transitions],
        }


class PerformanceEstimator:
    """Estimated MAE / RMSE of every scored event and the alarm on them; see the module doc."""

    def __init__(
        self, reference: EstimationReference, loss_model: LossModel, *, gamma: float = GAMMA,
        clear_gamma: float = CLEAR_GAMMA, alarm_ratio: float | None = None,
    ) -> None:
        check_gammas(gamma, clear_gamma)
        self.reference = reference
        self.loss_model = loss_model
        self.gamma = gamma
        self.clear_gamma = clear_gamma
        self.flag = alarm_flag(reference, gamma=gamma, clear_gamma=clear_gamma,
                               ratio=alarm_ratio)
        self._edges = np.asarray(reference.edges)
        self.reset()

    @property
    def n_seen(self) -> int:
        return self._n_seen

    def reset(self) -> None:
        """Lower the flag and restart every statistic (a new model)."""
        self.flag.reset()
        self._n_seen = 0
        self._pending: list[Transition] = []
        self._sum = self._squares = 0.0
        self._n = 0

    def update(self, frame: pd.DataFrame) -> list[Transition]:
        """Estimate the loss of every row (one loss-model predict); the alarm's transitions."""
        if PREDICTION not in frame.columns:
            raise MissingColumnError(f"frame lacks the {PREDICTION!r} column")
        if not len(frame):
            return []
        losses = np.asarray(self.loss_model.predict(frame), dtype=np.float64).ravel()
        if losses.size != len(frame):
            raise ValueError(f"the loss model gave {losses.size} losses for {len(frame)} rows")
        return self.add_losses(losses)

    def add_losses(self, losses: np.ndarray) -> list[Transition]:
        """Absorb per-event estimated absolute errors (non-finite ones skipped), in order."""
        losses = np.asarray(losses, dtype=np.float64).ravel()
        losses = np.maximum(losses[np.isfinite(losses)], 0.0)
        if not losses.size:
            return []
        codes = np.searchsorted(self._edges, losses, side="right")
        new = self.flag.update(codes, self._n_seen)
        self._n_seen += int(losses.size)
        self._n += int(losses.size)
        self._sum += float(losses.sum())
        self._squares += float(np.dot(losses, losses))
        self._pending += new
        return new

    def evaluate(self) -> EstimatedPerformance:
        """The estimate since the previous `evaluate`, the flag now and its transitions."""
        ref, n = self.reference, self._n
        transitions, self._pending = tuple(self._pending), []
        if n:
            mae = self._sum / n
            rmse = math.sqrt(ref.kappa * self._squares / n)
            half = Z95 * math.sqrt(max(ref.kappa - 1.0, 0.0) * self._squares) / n
        else:
            mae = rmse = half = math.nan
        self._sum = self._squares = 0.0
        self._n = 0
        return EstimatedPerformance(
            n_events=n, n_seen=self._n_seen, mae=mae, rmse=rmse,
            mae_ratio=mae / ref.mae if ref.mae > 0 else math.nan,
            rmse_ratio=rmse / ref.rmse if ref.rmse > 0 else math.nan,
            mae_low=max(mae - half, 0.0) if n else math.nan, mae_high=mae + half,
            flag=flag_state(self.flag), transitions=transitions, gamma=self.gamma,
        )


__all__ = ["FLAG", "EstimatedPerformance", "LossModel", "PerformanceEstimator"]
