"""`DataFeed`, `EstimateFeed` and `ConceptFeed`: every committed batch and every joined label
into the sequential detectors at once, with the wall-clock time of each flag change.

The detectors number events from their construction (or last reset); a transition's `event`
is that index. The feeds stamp each transition with the time its batch went through the
detectors (the batch is committed by then), so a report can say *when* a flag changed, and the
observer can publish it at once (`has_news`) instead of at the next scheduled report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from consumer.pipeline.scoring import ThreadCap
from drift import PerformanceEstimator, SequentialConcept, SequentialMonitor, Transition
from drift.profile import PREDICTION

TransitionKey = tuple[str, str, int]


def transition_key(t: Transition) -> TransitionKey:
    return (t.flag, t.kind, t.event)


def transition_record(t: Transition, time_ms: int | None) -> dict[str, Any]:
    """One transition of a report record: `time` is epoch ms (None if unknown)."""
    return {
        "flag": t.flag, "kind": t.kind, "statistic": float(t.statistic),
        "detector": t.detector, "event": t.event, "time": time_ms,
    }


def with_predictions(features: pd.DataFrame, predictions: np.ndarray) -> pd.DataFrame:
    """The features with a `prediction` column (a new frame: the batch's is left alone)."""
    return features.assign(**{PREDICTION: predictions})


class TransitionTimes:
    """Wall-clock times (epoch ms) of the transitions not yet reported, by (flag, kind, event);
    each new transition also goes to `on_transition` (the transitions counter)."""

    def __init__(
        self, wall: Callable[[], float],
        on_transition: Callable[[Transition], None] = lambda t: None,
    ) -> None:
        self.wall = wall
        self.on_transition = on_transition
        self._times: dict[TransitionKey, int] = {}

    def __len__(self) -> int:
        return len(self._times)

    def stamp(self, transitions: Iterable[Transition]) -> None:
        """Stamp `transitions` with the time now and count each."""
        now_ms = int(self.wall() * 1000)
        for t in transitions:
            self._times[transition_key(t)] = now_ms
            self.on_transition(t)

    def take(self, transitions: Iterable[Transition]) -> list[dict[str, Any]]:
        """The report records of `transitions` (handed over by the detector), times removed."""
        return [transition_record(t, self._times.pop(transition_key(t), None))
                for t in transitions]

    def clear(self) -> None:
        self._times.clear()


class _Feed:
    """What every feed shares: the times of its unreported transitions, counted as stamped."""

    def __init__(
        self, on_transition: Callable[[Transition], None], wall: Callable[[], float]
    ) -> None:
        self.times = TransitionTimes(wall, on_transition)

    @property
    def has_news(self) -> bool:
        """A flag changed since the last report."""
        return len(self.times) > 0

    def _stamped(self, new: list[Transition]) -> list[Transition]:
        self.times.stamp(new)
        return new


class DataFeed(_Feed):
    """Feature and prediction drift: one `SequentialMonitor.update` per committed batch."""

    def __init__(
        self,
        monitor: SequentialMonitor,
        *,
        on_transition: Callable[[Transition], None] = lambda t: None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(on_transition, wall)
        self.monitor = monitor

    def add(self, frame: pd.DataFrame) -> list[Transition]:
        """A batch's features with its `prediction` column (`with_predictions`)."""
        return self._stamped(self.monitor.update(frame))

    def reset(self, monitor: SequentialMonitor) -> None:
        """A new monitor (or the same, reset): forget the unreported transitions."""
        self.monitor = monitor
        self.times.clear()


class EstimateFeed(_Feed):
    """Label-free performance estimation: `PerformanceEstimator.update` per committed batch (it
    samples the stream and predicts per 1,024 sampled events, on one thread like the scorer's
    predict); `flush` before a report estimates what still waits."""

    def __init__(
        self,
        estimator: PerformanceEstimator,
        *,
        on_transition: Callable[[Transition], None] = lambda t: None,
        wall: Callable[[], float] = time.time,
        threads: int | None = 1,
    ) -> None:
        super().__init__(on_transition, wall)
        self.estimator = estimator
        self._cap = ThreadCap(threads)

    def add(self, frame: pd.DataFrame) -> list[Transition]:
        """A batch's features with its `prediction` column (`with_predictions`)."""
        with self._cap():
            return self._stamped(self.estimator.update(frame))

    def flush(self) -> list[Transition]:
        """Estimate the sampled events still waiting (before a report), stamped like `add`'s."""
        with self._cap():
            return self._stamped(self.estimator.flush())

    def reset(self) -> None:
        """The model changed: lower the flag, restart the estimate, forget the unreported."""
        self.estimator.reset()
        self.times.clear()

    def replace(self, estimator: PerformanceEstimator) -> None:
        """A new model with its own loss model: estimate with it from now on."""
        self.estimator = estimator
        self.times.clear()


class ConceptFeed(_Feed):
    """Concept drift: `SequentialConcept.update` for the labels joined after each batch (the
    label feed calls `update` as it would the detector's)."""

    def __init__(
        self,
        concept: SequentialConcept,
        *,
        on_transition: Callable[[Transition], None] = lambda t: None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(on_transition, wall)
        self.concept = concept

    @property
    def reference_mae(self) -> float:
        return float(self.concept.reference_mae)

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> list[Transition]:
        return self._stamped(self.concept.update(y_true, y_pred))

    def reset(self, concept: SequentialConcept) -> None:
        self.concept = concept
        self.times.clear()
