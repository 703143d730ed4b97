"""`baseline`: the held-out test rows as they are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.features import FEATURES, TARGET
from producer.scenarios.base import Scenario, register


@register
class Baseline(Scenario):
    """No drift: rows sampled with replacement from the held-out test split, unchanged.

    The training reference comes from the train split of the same random 80/20 split, so a
    baseline stream carries no drift relative to it; labels are the rows' true prices.
    """

    name = "baseline"

    def apply(
        self, rows: pd.DataFrame, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        return rows[list(FEATURES)], rows[TARGET].to_numpy(dtype=np.int64)
