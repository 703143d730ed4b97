"""`data-drift`: heavier stones and a lower clarity mix, nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.features import FEATURES, TARGET
from producer.scenarios.base import Scenario, register

CARAT_SHIFT = 0.30
"""Full-strength carat scale - 1: carat x 1.30 at strength 1."""
CLARITY_REDRAW = 0.40
"""Full-strength share of events whose clarity is redrawn from `LOW_CLARITY`."""
LOW_CLARITY: dict[str, float] = {"SI2": 0.7, "I1": 0.3}
MAX_CARAT = 20.0  # the event schema's bound


@register
class DataDrift(Scenario):
    """Covariate shift in exactly two features, from event `onset` on (a step).

    At weight ``w`` (1 after the onset) and ``s = strength``:

    - ``carat`` is multiplied by ``1 + 0.30 * s * w`` (x1.30 at full strength; rounded to
      0.01 ct as in the data, capped at 20 ct);
    - ``clarity``: each event, with probability ``min(1, 0.40 * s * w)``, gets its clarity redrawn
      independently of the row from SI2 (70 %) / I1 (30 %). With the test split's mix
      (SI2 17.5 %, I1 1.4 %) full strength gives about SI2 38.5 %, I1 12.9 %.

    The columns are transformed in place, not resampled, so cut, color, depth and table keep
    exactly the reference distribution (with the same seed they are identical to `baseline`).
    Labels are the original rows' true prices: the stones changed, the recorded prices did not,
    so a model extrapolating to heavier stones also shows larger errors.
    """

    name = "data-drift"

    def apply(
        self, rows: pd.DataFrame, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        w = self.weight(index) * self.strength
        features = rows[list(FEATURES)].copy()
        carat = features["carat"].to_numpy(dtype=np.float64) * (1.0 + CARAT_SHIFT * w)
        features["carat"] = np.minimum(np.round(carat, 2), MAX_CARAT)
        redraw = rng.random(len(rows)) < np.minimum(1.0, CLARITY_REDRAW * w)
        low = rng.choice(list(LOW_CLARITY), size=len(rows), p=list(LOW_CLARITY.values()))
        clarity = features["clarity"].to_numpy(dtype=object)
        features["clarity"] = np.where(redraw, low, clarity)
        return features, rows[TARGET].to_numpy(dtype=np.int64)
