"""ADWIN: adaptive windowing (Bifet & Gavaldà, 2007), with exponential-histogram buckets."""

from __future__ import annotations

import math

from drift.base import DriftDetector


class ADWIN(DriftDetector):
    """Keeps a window with no detectable change in mean; alarms when two sub-windows differ.

    The window is compressed into rows of buckets: row ``i`` holds at most `max_buckets`
    buckets of ``2**i`` values each (their total and variance), so memory and the cost of a
    check grow as ``log(width)``. Every `clock` values (once the window is longer than
    `grace_period`) every bucket boundary is tried as a cut ``W0 | W1``; a cut whose means
    differ by more than the Bernstein-style bound eps_cut(delta) drops the oldest bucket and
    the check repeats. Sub-windows shorter than `min_window_length` are not tested.
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        super().__init__()
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        if clock < 1:
            raise ValueError(f"clock must be >= 1, got {clock}")
        if max_buckets < 2:
            raise ValueError(f"max_buckets must be >= 2, got {max_buckets}")
        if min_window_length < 1:
            raise ValueError(f"min_window_length must be >= 1, got {min_window_length}")
        if grace_period < 0:
            raise ValueError(f"grace_period must be >= 0, got {grace_period}")
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        # row i: totals and variances of buckets of 2**i values, oldest first; row 0 is newest
        self._totals: list[list[float]] = [[]]
        self._variances: list[list[float]] = [[]]
        self.width = 0
        self.total = 0.0
        self.variance = 0.0  # sum of squared deviations from the window mean

    @property
    def estimation(self) -> float:
        """Mean of the current window (0.0 when empty)."""
        return self.total / self.width if self.width else 0.0

    def _step(self, x: float) -> bool:
        self._insert(x)
        if self.n % self.clock or self.width <= self.grace_period:
            return False
        detected = False
        while self._cut_found():
            self._drop_oldest()
            detected = True
        return detected

    def _insert(self, x: float) -> None:
        if self.width:
            mean = self.total / self.width
            self.variance += self.width * (x - mean) ** 2 / (self.width + 1)
        self.width += 1
        self.total += x
        self._totals[0].append(x)
        self._variances[0].append(0.0)
        for i in range(len(self._totals)):  # merge the two oldest of any over-full row upwards
            totals, variances = self._totals[i], self._variances[i]
            if len(totals) <= self.max_buckets:
                break
            if i + 1 == len(self._totals):
                self._totals.append([])
                self._variances.append([])
            size = 1 << i
            u1, u2 = totals[0], totals[1]
            merged_var = variances[0] + variances[1] + size * (u1 / size - u2 / size) ** 2 / 2
            del totals[:2], variances[:2]
            self._totals[i + 1].append(u1 + u2)
            self._variances[i + 1].append(merged_var)

    def _cut_found(self) -> bool:
        m = self.min_window_length
        width, total = self.width, self.total
        if width < 2 * m:
            return False
        window_var = max(self.variance, 0.0) / width
        log_term = math.log(2.0 * math.log(width) / self.delta)
        n0, u0 = 0, 0.0
        for i in range(len(self._totals) - 1, -1, -1):  # oldest row first
            size = 1 << i
            row = self._totals[i]
            for k, u in enumerate(row):
                if i == 0 and k == len(row) - 1:
                    return False  # W1 would be empty
                n0 += size
                u0 += u
                n1 = width - n0
                if n0 < m or n1 < m:
                    continue
                inv = 1.0 / (n0 - m + 1) + 1.0 / (n1 - m + 1)
                eps = math.sqrt(2.0 * inv * window_var * log_term) + 2.0 / 3.0 * log_term * inv
                if abs(u0 / n0 - (total - u0) / n1) > eps:
                    return True
        return False

    def _drop_oldest(self) -> None:
        i = len(self._totals) - 1
        size = 1 << i
        u = self._totals[i].pop(0)
        v = self._variances[i].pop(0)
        self.width -= size
        self.total -= u
        if self.width:
            mean = self.total / self.width
            self.variance -= v + size * self.width * (u / size - mean) ** 2 / (size + self.width)
        else:
            self.variance = 0.0
        while len(self._totals) > 1 and not self._totals[-1]:
            self._totals.pop()
            self._variances.pop()
