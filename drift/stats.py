"""Pure drift statistics on numpy arrays: two-sample tests and effect sizes.

Every function here is stateless and checked against scipy in the tests. PSI and the
chi-square expectation smooth empty buckets with `EPSILON` so that a bucket the reference
never saw (the `__other__` category, values beyond the training range) gives a large but
finite contribution instead of infinity.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps
from scipy.spatial.distance import jensenshannon

EPSILON = 1e-4


def proportions(codes: np.ndarray, n_buckets: int) -> np.ndarray:
    """Share of `codes` (integers in ``[0, n_buckets)``) falling in each bucket."""
    counts = np.bincount(codes.ravel(), minlength=n_buckets).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def row_proportions(codes: np.ndarray, n_buckets: int) -> np.ndarray:
    """`proportions` for each row of a 2-D code array, in one bincount (no Python loop)."""
    n_rows, n_cols = codes.shape
    offsets = (np.arange(n_rows) * n_buckets)[:, None]
    counts = np.bincount((codes + offsets).ravel(), minlength=n_rows * n_buckets)
    return counts.reshape(n_rows, n_buckets) / n_cols


def psi(expected: np.ndarray, actual: np.ndarray, *, eps: float = EPSILON) -> np.ndarray:
    """Population stability index ``sum((a - e) * ln(a / e))`` over the last axis.

    Proportions below `eps` are raised to `eps` (no renormalisation) before the sum.
    """
    e = np.clip(np.asarray(expected, dtype=np.float64), eps, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), eps, None)
    return np.sum((a - e) * np.log(a / e), axis=-1)


def ks_test(window: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (scipy's `ks_2samp`)."""
    result = _sps.ks_2samp(window, reference)
    return float(result.statistic), float(result.pvalue)


def chi2_test(
    counts: np.ndarray, expected_proportions: np.ndarray, *, eps: float = EPSILON
) -> tuple[float, float]:
    """Chi-square goodness of fit of `counts` against smoothed reference proportions.

    The expectation is ``n * p`` with ``p`` clipped at `eps` and renormalised, so that it
    sums to the observed total as `scipy.stats.chisquare` requires.
    """
    observed = np.asarray(counts, dtype=np.float64)
    p = np.clip(np.asarray(expected_proportions, dtype=np.float64), eps, None)
    expected = observed.sum() * p / p.sum()
    result = _sps.chisquare(observed, expected)
    return float(result.statistic), float(result.pvalue)


def normalised_wasserstein(window: np.ndarray, reference: np.ndarray, scale: float) -> float:
    """First Wasserstein distance between the samples, in units of the reference `scale`."""
    return float(_sps.wasserstein_distance(window, reference)) / scale


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2, so in ``[0, 1]``) over the last axis."""
    return np.asarray(jensenshannon(p, q, base=2, axis=-1))
