"""`SequentialConcept`: the concept flag on labelled predictions, every label, with a stated ERT.

Absolute errors ``|y_true - y_pred|`` are binned on the quantiles of the held-out absolute
residuals (profile format >= 2) and watched by a `DriftFlag` with upward directions only
(errors grow: overall level, more errors in the top tenth, or a larger mean error, which an
error growing in one segment moves most), each giving up `tolerance` standard errors of the
held-out reference (see `drift.sequential.plan`). An absurd label lands in
the last bin: it moves the statistic by one bounded increment, never by its size. The flag
clears once the errors are back at the reference level, like every other flag.
"""

from __future__ import annotations

import math

import numpy as np

from drift.exceptions import ProfileError
from drift.profile import ReferenceProfile
from drift.sequential.flag import Transition
from drift.sequential.monitor import CLEAR_GAMMA, GAMMA, check_gammas, flag_state, make_flag
from drift.sequential.plan import CONCEPT, TOLERANCE, concept_bins, slack_for
from drift.sequential.report import ConceptState

__all__ = ["CONCEPT", "SequentialConcept"]


class SequentialConcept:
    """Per-label concept drift flag against the profile's held-out absolute errors."""

    def __init__(
        self, profile: ReferenceProfile, *, gamma: float = GAMMA, clear_gamma: float = CLEAR_GAMMA,
        tolerance: float = TOLERANCE, calibrate: bool = True,
    ) -> None:
        check_gammas(gamma, clear_gamma)
        errors = profile.errors
        binned = concept_bins(profile)
        if errors is None or binned is None:
            raise ProfileError(
                "the profile has no absolute-error bins: rebuild it (format >= 2) with "
                "reference_errors="
            )
        self.profile = profile
        self.gamma = gamma
        self.clear_gamma = clear_gamma
        self.reference_mae = errors.mae
        self._binned = binned
        self.tolerance = tolerance
        self.calibrate = calibrate
        self.flag = make_flag(
            binned, gamma, clear_gamma, slack_for(tolerance, errors.n), calibrate, profile
        )
        self.reset()

    @property
    def n_seen(self) -> int:
        return self._n_seen

    def reset(self) -> None:
        """Lower the flag and restart its statistics (a new model or profile)."""
        self.flag.reset()
        self._n_seen = 0
        self._pending: list[Transition] = []
        self._abs_sum = 0.0
        self._abs_n = 0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> list[Transition]:
        """Absorb labelled predictions (same length; non-finite pairs skipped), in order."""
        truth = np.asarray(y_true, dtype=np.float64).ravel()
        pred = np.asarray(y_pred, dtype=np.float64).ravel()
        if truth.shape != pred.shape:
            raise ValueError(f"y_true and y_pred differ in length: {truth.size} != {pred.size}")
        errors = np.abs(truth - pred)
        errors = errors[np.isfinite(errors)]
        if errors.size == 0:
            return []
        new = self.flag.update(self._binned.encode(errors), self._n_seen)
        self._n_seen += int(errors.size)
        self._abs_sum += float(errors.sum())
        self._abs_n += int(errors.size)
        self._pending += new
        return new

    def evaluate(self) -> ConceptState:
        """The flag now and its transitions since the previous `evaluate`."""
        transitions, self._pending = tuple(self._pending), []
        ratio = self._abs_sum / self._abs_n / self.reference_mae if self._abs_n else math.nan
        self._abs_sum, self._abs_n = 0.0, 0
        return ConceptState(
            flag=flag_state(self.flag), transitions=transitions, n_labels=self._n_seen,
            mae_ratio=ratio, gamma=self.gamma,
        )
