"""`DriftDetector`: the contract of the sequential detectors (river's, in miniature).

``update(x)`` feeds one value; the read-only `drift_detected` is True on the update that
raised the alarm; the next update first rebuilds the state in `_reset()`, so the detector
starts learning the new regime and can report the next change. `n` counts the values seen
since that last reset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable


class DriftDetector(ABC):
    """Base class of `PageHinkley` and `ADWIN`."""

    def __init__(self) -> None:
        self._drift_detected = False
        self.n = 0

    @property
    def drift_detected(self) -> bool:
        """True if the last `update` detected a change."""
        return self._drift_detected

    def _reset(self) -> None:
        self._drift_detected = False
        self.n = 0

    def update(self, x: float) -> None:
        """Feed one value; read `drift_detected` afterwards."""
        if self._drift_detected:
            self._reset()
        self.n += 1
        self._drift_detected = self._step(float(x))

    def update_many(self, values: Iterable[float]) -> list[int]:
        """Feed values in order; the positions (within `values`) where an alarm was raised."""
        alarms = []
        for i, x in enumerate(values):
            self.update(x)
            if self._drift_detected:
                alarms.append(i)
        return alarms

    @abstractmethod
    def _step(self, x: float) -> bool:
        """Absorb `x` (already counted in `n`); True if a change is detected now."""
