"""A fixed-size ring buffer of rows: memory is allocated once, whatever the run length."""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """The last `capacity` rows of width `width`, written in place (no per-row Python loop).

    `view()` returns the filled rows in storage order, not arrival order: the drift statistics
    are order-free, so we skip the copy a rotation would cost.
    """

    def __init__(self, capacity: int, width: int, dtype: type[np.generic]) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._data = np.zeros((capacity, width), dtype=dtype)
        self._pos = 0
        self._fill = 0

    @property
    def fill(self) -> int:
        return self._fill

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def extend(self, rows: np.ndarray) -> None:
        """Append rows (shape ``(m, width)``); only the newest `capacity` are kept."""
        m = len(rows)
        cap = self.capacity
        if m >= cap:
            self._data[:] = rows[m - cap:]
            self._pos, self._fill = 0, cap
            return
        end = self._pos + m
        if end <= cap:
            self._data[self._pos:end] = rows
        else:
            split = cap - self._pos
            self._data[self._pos:] = rows[:split]
            self._data[: m - split] = rows[split:]
        self._pos = end % cap
        self._fill = min(cap, self._fill + m)

    def view(self) -> np.ndarray:
        """The filled rows (a view: copy before keeping it across `extend` calls)."""
        return self._data[: self._fill]

    def clear(self) -> None:
        self._pos = 0
        self._fill = 0
