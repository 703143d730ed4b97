"""Page-Hinkley test for a change in the mean of a stream (Page, 1954; river's variant)."""

from __future__ import annotations

from typing import Literal

from drift.base import DriftDetector


class PageHinkley(DriftDetector):
    """Cumulative deviation from the running mean, with a forgetting factor.

    With ``mode="up"`` (default) it accumulates ``x - mean - delta`` (floored at 0) and alarms
    when the sum reaches `threshold` (lambda): an increase of the mean, such as a rising error
    level. ``"down"`` watches decreases, ``"both"`` either. `delta` is the change magnitude
    tolerated, `alpha` the forgetting factor of the sums, `min_instances` the values needed
    before any alarm.
    """

    def __init__(
        self,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        min_instances: int = 30,
        mode: Literal["up", "down", "both"] = "up",
    ) -> None:
        super().__init__()
        if delta < 0:
            raise ValueError(f"delta must be >= 0, got {delta}")
        if threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if min_instances < 1:
            raise ValueError(f"min_instances must be >= 1, got {min_instances}")
        if mode not in ("up", "down", "both"):
            raise ValueError(f"mode must be 'up', 'down' or 'both', got {mode!r}")
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.min_instances = min_instances
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        self.mean = 0.0
        self.sum_up = 0.0
        self.sum_down = 0.0

    def _step(self, x: float) -> bool:
        self.mean += (x - self.mean) / self.n
        deviation = x - self.mean
        if self.mode != "down":
            self.sum_up = max(0.0, self.alpha * self.sum_up + deviation - self.delta)
        if self.mode != "up":
            self.sum_down = max(0.0, self.alpha * self.sum_down - deviation - self.delta)
        if self.n < self.min_instances:
            return False
        return self.sum_up >= self.threshold or self.sum_down >= self.threshold
