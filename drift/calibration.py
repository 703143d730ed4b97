"""Effect-size thresholds that do not cry wolf, calibrated by resampling reference data.

For one column we draw `n_windows` windows of `window_size` values from calibration data
(with replacement, so a small holdout still yields full windows), compute each effect size
against a reference (as the former window monitor did) and keep the `quantile` high quantile.
A stream from the reference distribution then exceeds the threshold in about
``1 - quantile`` of its windows.

Calibration data must be independent of the reference: a holdout when there is one. Without
one (and always for predictions, given as a single array), the column is split in two random
halves, a reference is built on one and windows are drawn from the other. Windows drawn from
the very rows of the reference would miss the reference's own estimation noise and would never
contain a value beyond its range, so they give thresholds that are too low.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from drift.exceptions import ProfileError
from drift.reference import CategoricalReference, NumericReference
from drift.stats import js_distance, normalised_wasserstein, proportions, psi, row_proportions


@dataclass(frozen=True)
class Calibration:
    """How to profile and calibrate one column."""

    window_size: int
    n_windows: int
    quantile: float
    n_bins: int
    sample_size: int
    seed: int


def feature_rng(seed: int, name: str) -> np.random.Generator:
    """A generator per (seed, column name): one column's draws do not depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def profile_numeric(
    name: str, values: np.ndarray, holdout: np.ndarray | None, plan: Calibration
) -> tuple[NumericReference, dict[str, float]]:
    """The reference of `values` and its thresholds (calibrated on `holdout`, else split-half)."""
    rng = feature_rng(plan.seed, name)
    x = values[np.isfinite(values)]
    reference = NumericReference.build(
        name, x, n_bins=plan.n_bins, sample_size=plan.sample_size, rng=rng
    )
    if holdout is None:
        a, b = _halves(x.size, name, plan.seed)
        calib_ref = NumericReference.build(
            name, x[a], n_bins=plan.n_bins, sample_size=plan.sample_size, rng=rng
        )
        source = x[b]
    else:
        calib_ref, source = reference, holdout[np.isfinite(holdout)]
    if source.size == 0:
        raise ProfileError(f"no finite value of {name!r} to calibrate on")
    windows = source[rng.integers(0, source.size, size=(plan.n_windows, plan.window_size))]
    shares = row_proportions(calib_ref.codes(windows), calib_ref.n_buckets)
    psis = psi(calib_ref.proportions, shares)
    distances = [normalised_wasserstein(w, calib_ref.sample, calib_ref.scale) for w in windows]
    return reference, _quantiles(psis, np.asarray(distances), plan.quantile)


def profile_categorical(
    name: str, values: pd.Series, holdout: pd.Series | None, categories: Sequence[str] | None,
    plan: Calibration,
) -> tuple[CategoricalReference, dict[str, float]]:
    """The reference of `values` and its thresholds (calibrated on `holdout`, else split-half)."""
    rng = feature_rng(plan.seed, name)
    reference = CategoricalReference.build(name, values, categories)
    if holdout is None:
        codes = reference.codes(values)
        a, b = _halves(codes.size, name, plan.seed)
        shares = proportions(codes[a], reference.n_buckets)
        calib_ref, source = CategoricalReference(name, reference.categories, shares), codes[b]
    else:
        calib_ref, source = reference, reference.codes(holdout)
    if source.size == 0:
        raise ProfileError(f"no value of {name!r} to calibrate on")
    picks = rng.integers(0, source.size, size=(plan.n_windows, plan.window_size))
    shares = row_proportions(source[picks].astype(np.intp), calib_ref.n_buckets)
    psis = psi(calib_ref.proportions, shares)
    distances = js_distance(shares, np.broadcast_to(calib_ref.proportions, shares.shape))
    return reference, _quantiles(psis, distances, plan.quantile)


def _halves(n: int, name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n < 2:
        raise ProfileError(f"{name!r} needs at least 2 values to calibrate without a holdout")
    order = feature_rng(seed + 1, name).permutation(n)
    return order[: n // 2], order[n // 2:]


def _quantiles(psis: np.ndarray, distances: np.ndarray, quantile: float) -> dict[str, float]:
    return {
        "psi": float(np.quantile(psis, quantile)),
        "distance": float(np.quantile(distances, quantile)),
    }
