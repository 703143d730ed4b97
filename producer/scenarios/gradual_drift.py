"""`gradual-drift`: the data-drift shift, ramping in linearly."""

from __future__ import annotations

import numpy as np

from producer.scenarios.base import register
from producer.scenarios.data_drift import DataDrift


@register
class GradualDrift(DataDrift):
    """The `data-drift` shift with a weight ramping linearly over `ramp` events.

    ``w = clip((index - onset) / ramp, 0, 1)``: 0 at the onset, full (carat x1.30, 40 % of
    clarities redrawn from SI2/I1 at strength 1) from ``onset + ramp`` on.
    """

    name = "gradual-drift"

    def weight(self, index: np.ndarray) -> np.ndarray:
        steps = (np.asarray(index, dtype=np.float64) - self.onset) / self.ramp
        return np.clip(steps, 0.0, 1.0)
