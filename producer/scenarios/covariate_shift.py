"""`covariate-shift` and its variants: real held-out rows, resampled toward another input mix.

Unlike `data-drift` (which rescales carat and keeps the old price: a change of the price
relationship in disguise), these scenarios only change *which* real rows are sent: from the
onset on, each event is drawn from its chunk of sampled held-out rows with probability
proportional to a weight ``w(row) ** strength``, features and price together. The price
relationship still holds row by row, so every label is true; only the mix of inputs moves.
Resampling within the chunk (1,024 rows) is sampling-importance-resampling: close to a draw
from the tilted held-out distribution, from a pool of 1,024 rows.

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

    def log_weights(self, rows: pd.DataFrame) -> np.ndarray:
        """Log-weight of each row at strength 1."""
        return EXPENSIVE_TILT * rows["carat"].to_numpy(dtype=np.float64)

    def apply(
        self, rows: pd.DataFrame, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        picked = np.arange(len(rows))
        shifts = self.weight(index) * self.strength
        base = self.log_weights(rows)
        for shift in np.unique(shifts[shifts > 0]):  # one strength after a step onset
            at = np.flatnonzero(shifts == shift)
            logw = shift * base
            p = np.exp(logw - logw.max())
            picked[at] = rng.choice(len(rows), size=at.size, p=p / p.sum())
        chosen = rows.iloc[picked].reset_index(drop=True)
        return chosen[list(FEATURES)], chosen[TARGET].to_numpy(dtype=np.int64)


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
