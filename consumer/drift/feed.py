"""`DataFeed`: committed batches (features + prediction) into few large `DriftMonitor.update`s.

The buffer goes into one update per `UPDATE_ROWS` rows and before every evaluation (the window
keeps the newest): an update costs ~1 ms whatever its size up to thousands of rows, so five
1000-row updates cost ~4x one 5000-row update. The buffer holds the batches' own frames (the
pipeline builds a new one per batch) until then: about 0.3 ms per 1000 events in all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from consumer.drift.metrics import DriftMetrics
from drift import DriftMonitor
from drift.profile import PREDICTION

UPDATE_ROWS = 5000


class DataFeed:
    def __init__(
        self, monitor: DriftMonitor, metrics: DriftMetrics, *, update_rows: int = UPDATE_ROWS
    ) -> None:
        self.monitor = monitor
        self.metrics = metrics
        self.update_rows = update_rows
        self._buffer: list[tuple[pd.DataFrame, np.ndarray]] = []
        self._buffered = 0

    def add(self, features: pd.DataFrame, predictions: np.ndarray) -> None:
        self._buffer.append((features, predictions))
        self._buffered += len(features)
        if self._buffered >= self.update_rows:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered rows to the drift monitor in one update."""
        if not self._buffer:
            return
        if len(self._buffer) == 1:
            features, predictions = self._buffer[0]
            frame = features.assign(**{PREDICTION: predictions})
        else:
            frame = pd.concat([f for f, _ in self._buffer], ignore_index=True)
            frame[PREDICTION] = np.concatenate([p for _, p in self._buffer])
        self._buffer, self._buffered = [], 0
        self.monitor.update(frame)
        self.metrics.window_fill.set(self.monitor.window_fill)
