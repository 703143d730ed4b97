"""`SequentialConcept`: the concept flag on labelled predictions, every label, with a stated ERT.

Errors relative to the prediction, ``(y_true - y_pred) / y_pred`` (profile format 4), are binned
by magnitude (quantiles of the held-out ones) and sign, and watched by a `DriftFlag` whose
directions are the error level, the top tenth and the mean magnitude (upward only: errors grow,
overall or in one segment) and the bias (both signs: labels above or below the predictions),
each giving up `tolerance` standard errors of the held-out reference (see
`drift.sequential.plan`). A price model's errors grow with the price, so relative to the
prediction they are far narrower than the absolute errors' mixture over prices: the same change
shows up in about half the events, and a bias (which widens absolute errors only slightly)
in about a tenth. A pair with a prediction <= 0 or a non-finite value is skipped. Profiles
of formats 2-3 (no relative bins) watch the absolute errors ``|y_true - y_pred|`` binned on the
held-out absolute residuals, with the same magnitude directions and no bias.

An absurd label lands in the last bin: it moves the statistic by one bounded increment, never
by its size. The flag clears once the errors are back at the reference level, like every other
flag.
"""

from __future__ import annotations

import math

import numpy as np

from drift.error_reference import relative_residuals
from drift.exceptions import ProfileError
from drift.profile import ReferenceProfile
from drift.sequential.flag import Transition
from drift.sequential.monitor import CLEAR_GAMMA, GAMMA, check_gammas, flag_state, make_flag
from drift.sequential.plan import (
    CONCEPT,
    TOLERANCE,
    concept_bins,
    concept_reference_size,
    concept_relative,
    slack_for,
)
from drift.sequential.report import ConceptState

__all__ = ["CONCEPT", "SequentialConcept"]


class SequentialConcept:
    """Per-label concept drift flag against the profile's held-out (relative) errors."""

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
        self.relative = concept_relative(profile)
        self.flag = make_flag(
            binned, gamma, clear_gamma, slack_for(tolerance, concept_reference_size(profile)),
            calibrate, profile,
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
        """Absorb labelled predictions (same length), in order; pairs with a non-finite value
        (or, on relative errors, a prediction <= 0) are skipped."""
        truth = np.asarray(y_true, dtype=np.float64).ravel()
        pred = np.asarray(y_pred, dtype=np.float64).ravel()
        if truth.shape != pred.shape:
            raise ValueError(f"y_true and y_pred differ in length: {truth.size} != {pred.size}")
        signed = truth - pred
        errors = np.abs(signed[np.isfinite(signed)])
        watched = relative_residuals(signed, pred) if self.relative else errors
        if watched.size:
            new = self.flag.update(self._binned.encode(watched), self._n_seen)
            self._n_seen += int(watched.size)
        else:
            new = []
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
