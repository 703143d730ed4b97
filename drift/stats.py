"""Pure drift statistics on numpy arrays: bucket proportions and effect sizes.

Every function here is stateless and checked against scipy in the tests. PSI smooths empty
buckets with `EPSILON` so that a bucket the reference never saw (the `__other__` category,
values beyond the training range) gives a large but finite contribution instead of infinity.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

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


def normalised_wasserstein(window: np.ndarray, reference: np.ndarray, scale: float) -> float:
    """First Wasserstein distance between the samples, in units of the reference `scale`."""
    return float(wasserstein_distance(window, reference)) / scale


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2, so in ``[0, 1]``) over the last axis."""
    return np.asarray(jensenshannon(p, q, base=2, axis=-1))
