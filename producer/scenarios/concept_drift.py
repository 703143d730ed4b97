"""`concept-drift`: same stones, new prices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.features import FEATURES, TARGET
from producer.scenarios.base import Scenario, register

PRICE_SHIFT = 0.60
"""Full-strength price scale - 1: price x 1.60 at strength 1."""


@register
class ConceptDrift(Scenario):
    """The price relationship changes from event `onset` on; the features do not.

    Features are exactly `baseline`'s (identical with the same seed), so no feature-drift test can
    see it. The label of each event at or after the onset is ``round(price * (1 + 0.60 * s))``
    (x1.60 at strength 1): visible only through the labels, as growing prediction errors.
    """

    name = "concept-drift"

    def apply(
        self, rows: pd.DataFrame, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        scale = 1.0 + PRICE_SHIFT * self.strength * self.weight(index)
        prices = np.rint(rows[TARGET].to_numpy(dtype=np.float64) * scale).astype(np.int64)
        return rows[list(FEATURES)], prices
