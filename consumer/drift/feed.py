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
    """Feature and prediction drift: `SequentialMonitor.update` on the committed batches,
    coalesced. Batches wait until `coalesce_events` events do, or the first of them has waited
    `coalesce_seconds`, then go through the monitor in one update: its cost is mostly per call
    (~1.5 ms for a batch of 100 events, ~1 ms for 1,000), so small batches at a low rate cost
    several times more per event. The detectors number events the same whatever the grouping
    (a transition's `event` does not move); only its report waits, at most that long. `flush`
    runs what waits now (the observer calls it before a report, on an idle poll, before a
    reset); the defaults (1, 0 s) run every batch at once."""

    def __init__(
        self,
        monitor: SequentialMonitor,
        *,
        on_transition: Callable[[Transition], None] = lambda t: None,
        wall: Callable[[], float] = time.time,
        coalesce_events: int = 1,
        coalesce_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(on_transition, wall)
        self.monitor = monitor
        self.coalesce_events = coalesce_events
        self.coalesce_seconds = coalesce_seconds
        self.clock = clock
        self._frames: list[pd.DataFrame] = []
        self._first = 0.0  # clock() when the oldest waiting batch came

    @property
    def waiting(self) -> int:
        """Events added and not yet through the monitor."""
        return sum(map(len, self._frames))

    def add(self, frame: pd.DataFrame) -> list[Transition]:
        """A batch's features with its `prediction` column (`with_predictions`); the
        transitions of the update it triggered, if any."""
        if not self._frames:
            self._first = self.clock()
        self._frames.append(frame)
        if (self.waiting >= self.coalesce_events
                or self.clock() - self._first >= self.coalesce_seconds):
            return self.flush()
        return []

    def flush(self) -> list[Transition]:
        """Run the waiting events through the monitor now (one update)."""
        if not self._frames:
            return []
        frames, self._frames = self._frames, []
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return self._stamped(self.monitor.update(frame))

    def reset(self, monitor: SequentialMonitor) -> None:
        """A new monitor (or the same, reset): forget the unreported transitions (`flush`
        first: events still waiting would otherwise never reach a detector)."""
        self.monitor = monitor
        self.times.clear()
        self._frames = []


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
