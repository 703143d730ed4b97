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

Cost: a loss-model predict has a fixed cost of ~1.5 ms (scikit-learn's checks and one call per
tree) plus ~1 µs per row; run on every event of every batch it cut the consumer's throughput
to ~0.76x of drift off (measured). So `update` estimates every `sample_every`-th event of the
stream (4 by default, counted from the start, whatever the batches) and predicts once
`predict_rows` (1,024) sampled events wait, or at `flush` / `evaluate`: ~1 µs per stream
event. The estimate is a mean, which a systematic sample of a stream in random order leaves
unbiased. The alarm sees the sampled events only: its ERT holds in sampled events, so per
stream event its false alarms are `sample_every` times rarer, and its delay in stream events is
about `sample_every` times its delay in sampled events, plus the wait for a predict (at most
4,096 events or one report interval in the consumer); transitions carry stream indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from drift.estimation.alarm import FLAG, alarm_flag
from drift.estimation.reference import EstimationReference
from drift.exceptions import MissingColumnError
from drift.profile import PREDICTION
from drift.sequential.flag import Transition
from drift.sequential.monitor import CLEAR_GAMMA, GAMMA, check_gammas, flag_state
from drift.sequential.report import FlagState, finite_or_none

Z95 = 1.959963984540054
SAMPLE_EVERY = 4  # events of the stream per estimated event (see the module doc)
PREDICT_ROWS = 1024  # sampled events per loss-model predict


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
            "mae": finite_or_none(self.mae), "rmse": finite_or_none(self.rmse),
            "mae_ratio": finite_or_none(self.mae_ratio),
            "rmse_ratio": finite_or_none(self.rmse_ratio),
            "mae_low": finite_or_none(self.mae_low), "mae_high": finite_or_none(self.mae_high),
            "flag": self.flag.to_dict(),
            "transitions": [t.to_dict() for t in self.transitions],
        }


class PerformanceEstimator:
    """Estimated MAE / RMSE of every scored event and the alarm on them; see the module doc."""

    def __init__(
        self, reference: EstimationReference, loss_model: LossModel, *, gamma: float = GAMMA,
        clear_gamma: float = CLEAR_GAMMA, alarm_ratio: float | None = None,
        sample_every: int = SAMPLE_EVERY, predict_rows: int = PREDICT_ROWS,
    ) -> None:
        check_gammas(gamma, clear_gamma)
        if sample_every < 1:
            raise ValueError(f"sample_every must be >= 1 event, got {sample_every}")
        if predict_rows < 1:
            raise ValueError(f"predict_rows must be >= 1, got {predict_rows}")
        self.sample_every = sample_every
        self.predict_rows = predict_rows
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
        self._stream = 0  # events of the stream passed to `update`, sampled or not
        self._waiting: list[tuple[pd.DataFrame, int]] = []  # (sampled rows, first's index)
        self._waiting_rows = 0
        self._pending: list[Transition] = []
        self._sum = self._squares = 0.0
        self._n = 0

    def update(self, frame: pd.DataFrame) -> list[Transition]:
        """Take every `sample_every`-th row of the stream; once `predict_rows` wait, estimate
        them (one loss-model predict). The alarm's transitions, at stream indices."""
        if PREDICTION not in frame.columns:
            raise MissingColumnError(f"frame lacks the {PREDICTION!r} column")
        n, start = len(frame), self._stream
        self._stream += n
        first = (-start) % self.sample_every
        if first >= n:
            return []
        sample = frame.iloc[first::self.sample_every]
        self._waiting.append((sample, start + first))
        self._waiting_rows += len(sample)
        return self.flush() if self._waiting_rows >= self.predict_rows else []

    def flush(self) -> list[Transition]:
        """Estimate the sampled rows still waiting (one predict); their transitions."""
        if not self._waiting:
            return []
        waiting, self._waiting, self._waiting_rows = self._waiting, [], 0
        k = self.sample_every
        events = np.concatenate([first + k * np.arange(len(f)) for f, first in waiting])
        frames = [f for f, _ in waiting]
        sample = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        losses = np.asarray(self.loss_model.predict(sample), dtype=np.float64).ravel()
        if losses.size != len(sample):
            raise ValueError(f"the loss model gave {losses.size} losses for {len(sample)} rows")
        return self.add_losses(losses, events=events)

    def add_losses(self, losses: np.ndarray, events: np.ndarray | None = None
                   ) -> list[Transition]:
        """Absorb per-event estimated absolute errors (non-finite ones skipped), in order;
        `events` are their stream indices (default: the next ones after the last absorbed)."""
        losses = np.asarray(losses, dtype=np.float64).ravel()
        finite = np.isfinite(losses)
        losses = np.maximum(losses[finite], 0.0)
        if not losses.size:
            return []
        codes = np.searchsorted(self._edges, losses, side="right")
        new = self.flag.update(codes, 0)
        if events is None:
            new = [replace(t, event=self._n_seen + t.event) for t in new]
        else:
            at = np.asarray(events)[finite]
            new = [replace(t, event=int(at[t.event])) for t in new]
        self._n_seen += int(losses.size)
        self._n += int(losses.size)
        self._sum += float(losses.sum())
        self._squares += float(np.dot(losses, losses))
        self._pending += new
        return new

    def evaluate(self) -> EstimatedPerformance:
        """The estimate since the previous `evaluate` (the waiting rows estimated first), the
        flag now and its transitions."""
        self.flush()
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
