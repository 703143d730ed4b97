"""Which flags a profile gets, on which bins, with which reference allowance: one place.

The monitors (`SequentialMonitor`, `SequentialConcept`) and the training-time calibration
(`calibration_constants`, called by `ReferenceProfile.build`) read the same plan, so a monitor
built with the default settings finds its threshold constants in the profile and starts
without simulating anything.

References are estimates from finite samples; each CUSUM gives up `tolerance` standard errors
of its reference (``slack = tolerance / sqrt(reference rows)``, see `drift.sequential.bank`):

    features     the project's producer replays the held-out rows, a finite sample: against
                 a reference of N training and held-out rows together (format 3), a replay
                 differs by (n_train / N) of its own error, as much as a fresh sample of
                 N * n_holdout / n_train rows would; against the training rows alone (older
                 profiles), 1 / (1/n_train + 1/n_holdout) rows (`feature_reference_size`)
    prediction   the held-out rows (its reference is the held-out predictions)
    concept      the held-out rows (the held-out relative errors, or absolute errors before
                 profile format 4)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from drift.profile import PREDICTION
from drift.sequential.binning import (
    Binned,
    categorical_bins,
    error_bins,
    numeric_bins,
    relative_error_bins,
)
from drift.sequential.calibrate import bank_key, probe_constant

if TYPE_CHECKING:  # the profile builds its constants from this module: no import at runtime
    from drift.profile import ReferenceProfile

TOLERANCE = 4.0  # standard errors of the reference given up by every CUSUM
CONCEPT = "concept"


def slack_for(tolerance: float, reference_size: int) -> float:
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0 (standard errors), got {tolerance}")
    if reference_size < 1:
        raise ValueError(f"reference_size must be >= 1, got {reference_size}")
    return tolerance / math.sqrt(reference_size)


def feature_reference_size(profile: ReferenceProfile) -> int:
    """Rows the features' reference is worth against a replay of the held-out rows."""
    seq = profile.sequential
    if seq is not None:
        n_train = seq.n_rows - seq.n_holdout
        return seq.n_rows if seq.n_holdout == 0 or n_train <= 0 else max(
            1, int(seq.n_rows * seq.n_holdout / n_train)
        )
    if profile.errors is None:
        return profile.n_reference
    return max(1, int(1 / (1 / profile.n_reference + 1 / profile.errors.n)))


def prediction_reference_size(profile: ReferenceProfile) -> int:
    """The held-out rows the prediction reference comes from (as the errors' does)."""
    return profile.errors.n if profile.errors is not None else profile.n_reference


def stored_constants(profile: ReferenceProfile) -> dict[str, tuple[str, float]]:
    return {} if profile.sequential is None else profile.sequential.constants


def feature_bins(profile: ReferenceProfile) -> list[Binned]:
    seq = profile.sequential
    if seq is not None:
        return [
            *(numeric_bins(seq.numeric[name]) for name in profile.numeric),
            *(categorical_bins(seq.categorical[name]) for name in profile.categorical),
        ]
    return [
        *(numeric_bins(r) for r in profile.numeric.values()),
        *(categorical_bins(r) for r in profile.categorical.values()),
    ]


def prediction_bins(profile: ReferenceProfile) -> Binned | None:
    seq = profile.sequential
    if seq is not None and PREDICTION in seq.numeric:
        return numeric_bins(seq.numeric[PREDICTION])
    return None if profile.prediction is None else numeric_bins(profile.prediction)


def concept_relative(profile: ReferenceProfile) -> bool:
    """Whether the concept flag watches relative errors (format 4), else absolute errors."""
    return profile.errors is not None and bool(profile.errors.rel_edges)


def concept_bins(profile: ReferenceProfile) -> Binned | None:
    """Bins of the held-out relative errors (format 4) or absolute errors (formats 2-3), or
    None for a profile without either (format 1)."""
    errors = profile.errors
    if errors is not None and concept_relative(profile):
        return relative_error_bins(
            CONCEPT, np.asarray(errors.rel_edges), np.asarray(errors.rel_proportions),
            moves=errors.rel_moves,
        )
    if errors is None or not errors.abs_edges:
        return None
    return error_bins(CONCEPT, np.asarray(errors.abs_edges), np.asarray(errors.abs_proportions))


def concept_reference_size(profile: ReferenceProfile) -> int:
    """The held-out rows behind the concept flag's bins."""
    errors = profile.errors
    if errors is not None and concept_relative(profile):
        return errors.rel_n
    return prediction_reference_size(profile)


def default_banks(
    profile: ReferenceProfile, tolerance: float = TOLERANCE
) -> list[tuple[Binned, float]]:
    """Every flag's bins and slack at the default reference sizes."""
    features = slack_for(tolerance, feature_reference_size(profile))
    held = slack_for(tolerance, prediction_reference_size(profile))
    banks = [(b, features) for b in feature_bins(profile)]
    predictions = prediction_bins(profile)
    if predictions is not None:
        banks.append((predictions, held))
    concept = concept_bins(profile)
    if concept is not None:
        banks.append((concept, slack_for(tolerance, concept_reference_size(profile))))
    return banks


def calibration_constants(profile: ReferenceProfile) -> dict[str, tuple[str, float]]:
    """``flag -> (bank key, c)`` for every default bank: what monitors need to skip simulating.

    ``c`` is the ratio of the bank's ERT to ``exp(h)`` (`drift.sequential.calibrate`), which
    does not depend on gamma, so one constant serves every gamma. A column with a single bin
    (constant in the reference) has no bank: it gets no constant.
    """
    return {
        binned.name: (bank_key(binned.p0, binned.directions, slack),
                      probe_constant(binned.p0, binned.directions, slack))
        for binned, slack in default_banks(profile) if binned.p0.size >= 2
    }
