"""`covariate-shift` and its variants: real held-out rows, drawn toward another input mix.

Unlike `data-drift` (which rescales carat and keeps the old price: a change of the price
relationship in disguise), these scenarios only change *which* real rows are sent: from the
onset on, each event is drawn from the whole source (the held-out split) with probability
proportional to ``w(row) ** strength``, features and price together, independently of the
other events. The price relationship still holds row by row, so every label is true; only the
mix of inputs moves. (Drawing from the sampled chunk of 1,024 rows instead would repeat its few
heavy rows many times in a row: clustered events no population shift produces.)

=======================  =====================================================================
name                     weight of a row (strength 1)
=======================  =====================================================================
covariate-shift          exp(1.0 * carat): toward large, expensive stones
covariate-shift-cheap    exp(-2.0 * carat): toward small, cheap stones
covariate-shift-rare     10 for the rarest clarities (I1, IF), 1 for the others
=======================  =====================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.features import FEATURES, TARGET
from producer.scenarios.base import Scenario, register

EXPENSIVE_TILT = 1.0  # log-weight per carat
CHEAP_TILT = -2.0
RARE_CLARITIES: tuple[str, ...] = ("I1", "IF")
RARE_FACTOR = 10.0


@register
class CovariateShift(Scenario):
    """Toward large, expensive stones; subclasses change `log_weights` (see the module doc)."""

    name = "covariate-shift"
    _cached: tuple[tuple[int, int, float], np.ndarray] | None = None

    def log_weights(self, rows: pd.DataFrame) -> np.ndarray:
        """Log-weight of each row at strength 1."""
        return EXPENSIVE_TILT * rows["carat"].to_numpy(dtype=np.float64)

    def probabilities(self, source: pd.DataFrame, shift: float) -> np.ndarray:
        """Probability of each source row at strength `shift` (cached: one source per stream)."""
        key = (id(source), len(source), shift)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        logw = shift * self.log_weights(source)
        p = np.exp(logw - logw.max())
        p /= p.sum()
        self._cached = (key, p)
        return p

    def pick(
        self, picked: np.ndarray, index: np.ndarray, source: pd.DataFrame,
        rng: np.random.Generator,
    ) -> np.ndarray:
        picked = picked.copy()
        shifts = self.weight(index) * self.strength
        for shift in np.unique(shifts[shifts > 0]):  # one strength after a step onset
            at = np.flatnonzero(shifts == shift)
            picked[at] = rng.choice(len(source), size=at.size,
                                    p=self.probabilities(source, float(shift)))
        return picked

    def apply(
        self, rows: pd.DataFrame, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        return rows[list(FEATURES)], rows[TARGET].to_numpy(dtype=np.int64)


@register
class CovariateShiftCheap(CovariateShift):
    """Toward small, cheap stones."""

    name = "covariate-shift-cheap"

    def log_weights(self, rows: pd.DataFrame) -> np.ndarray:
        return CHEAP_TILT * rows["carat"].to_numpy(dtype=np.float64)


@register
class CovariateShiftRare(CovariateShift):
    """Toward the rarest clarities (I1 and IF ten times as likely at strength 1)."""

    name = "covariate-shift-rare"

    def log_weights(self, rows: pd.DataFrame) -> np.ndarray:
        rare = rows["clarity"].isin(RARE_CLARITIES).to_numpy()
        return np.where(rare, np.log(RARE_FACTOR), 0.0)
