"""`DriftObserver`: the batch observer of drift monitoring, made of small parts.

The loop calls it only for committed batches, so each event and each label is seen once (an
aborted, re-read batch only when it finally commits)::

    on_batch(features, predictions, meta) --> DataFeed.add --> SequentialMonitor.update (grouped)
                                          ├-> EstimateFeed.add --> PerformanceEstimator.update
                                          └-> LabelFeed.add_predictions   (the join's cache)
    after_batch() / on_idle()             --> LabelFeed.after_batch / on_idle
                                                --> ConceptFeed.update (joined labels)
                                          └-> a flag changed: report now, else when
                                              EvaluationSchedule.due() --> Evaluator.evaluate

Every scored event goes through the detectors; the schedule only sets how often the states are
reported. A flag raised or cleared is reported right after the batch that changed it, so
through Kafka a transition is at most one batch later than the detector's own event. Opt-in,
the data detectors take the batches in groups (`DataFeed`: --drift-coalesce-events N > 1, or
--drift-coalesce-seconds, whichever comes first; flushed before every report, on an idle poll
and before a reset): less CPU at low rates, and a transition is then reported after its group,
at the same event index.
`reset(profile)` (the model changed) lowers every flag.

The label messages themselves go to the `LabelFeed` (`labels`): the loop's label handler,
which it also asks whether to pause the labels topic (`should_pause()`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from consumer.drift.evaluator import Evaluator
from consumer.drift.feed import ConceptFeed, DataFeed, EstimateFeed, with_predictions
from consumer.drift.join import LabelCounts
from consumer.drift.label_feed import LabelFeed
from consumer.drift.schedule import EvaluationSchedule
from consumer.pipeline.batch import BatchMeta
from drift import (
    PerformanceEstimator,
    ReferenceProfile,
    SequentialConcept,
    SequentialMonitor,
)

KEEP = object()  # `reset(estimator=KEEP)`: restart the current estimator


class DriftObserver:
    """Data drift on every scored event, concept drift on joined labels; see the module doc."""

    def __init__(
        self,
        feed: DataFeed,
        evaluator: Evaluator,
        schedule: EvaluationSchedule,
        *,
        labels: LabelFeed | None = None,
        concept: ConceptFeed | None = None,
        estimate: EstimateFeed | None = None,
        rebuild: Rebuild | None = None,
    ) -> None:
        self.feed = feed
        self.evaluator = evaluator
        self.schedule = schedule
        self.labels = labels
        self.concept = concept
        self.estimate = estimate
        self.rebuild = rebuild  # new detectors for a new profile (see `reset`)

    @property
    def last_record(self) -> dict[str, object] | None:
        """The report record of the last evaluation (None before the first)."""
        return self.evaluator.last_record

    @property
    def labels_topic(self) -> str | None:
        return self.labels.labels_topic if self.labels is not None else None

    @property
    def has_news(self) -> bool:
        """A flag changed since the last report."""
        return (
            self.feed.has_news
            or (self.concept is not None and self.concept.has_news)
            or (self.estimate is not None and self.estimate.has_news)
        )

    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        if not len(features):
            return
        frame = with_predictions(features, predictions)  # one copy for both feeds
        self.feed.add(frame)
        self.evaluator.metrics.events.inc(len(features))
        self.schedule.add_events(len(features))
        if self.labels is not None:
            self.labels.add_predictions(meta.event_ids, predictions)
        if self.estimate is not None:  # last: a failing loss model costs only the estimate
            self.estimate.add(frame)

    def after_batch(self) -> None:
        if self.labels is not None:
            self.labels.after_batch()
        self.maybe_evaluate()

    def on_idle(self) -> None:
        self.feed.flush()  # the stream paused: what waits goes through the detectors now
        if self.labels is not None:
            self.labels.on_idle()
        self.maybe_evaluate()

    def maybe_evaluate(self) -> bool:
        """Report when a flag changed or the schedule says so."""
        if not (self.has_news or self.schedule.due()):
            return False
        self.evaluate()
        return True

    def evaluate(self) -> dict[str, object]:
        """Report now: gauges, report record; returns it."""
        started = time.perf_counter()
        self.feed.flush()  # the report covers every event scored so far
        self.schedule.start()
        counts = self.labels.counts if self.labels is not None else LabelCounts()
        record = self.evaluator.evaluate(counts)
        duration = time.perf_counter() - started
        self.schedule.last_duration = duration
        self.evaluator.metrics.evaluation_duration.observe(duration)
        return record

    def reset(
        self,
        profile: ReferenceProfile | None = None,
        *,
        model_version: str = "",
        estimator: PerformanceEstimator | None | object = KEEP,
        detectors: Detectors | None = None,
    ) -> None:
        """The model (and with it maybe the profile) changed: lower every flag and restart
        every statistic, without a transition (a reset is not a drift ending). A new `profile`
        gets new detectors, built like the first ones (or `detectors`, built for it already,
        off the loop's thread); None keeps the current profile. A new
        model's `estimator` (its loss model; None: it has none) replaces the current one;
        `KEEP` restarts the current one. The label join forgets the cached predictions: their
        labels would measure the previous model."""
        self.feed.flush()  # the waiting events were scored by the previous model: its monitor
        monitor = self.feed.monitor
        concept = self.concept.concept if self.concept is not None else None
        if profile is not None and profile is not monitor.profile:
            if detectors is not None:
                monitor, concept = detectors
            elif self.rebuild is None:
                raise ValueError("this observer cannot build detectors for a new profile")
            else:
                monitor, concept = self.rebuild(profile)
        else:
            monitor.reset()
            if concept is not None:
                concept.reset()
        self.feed.reset(monitor)
        self._reset_estimate(estimator)
        if self.labels is not None:
            self.labels.forget_predictions()
        if self.concept is not None:
            if concept is None:  # the new profile has no error bins: keep the old, restarted
                concept = self.concept.concept
                concept.reset()
            self.concept.reset(concept)
        if model_version:
            self.evaluator.source = replace(self.evaluator.source, model_version=model_version)
        self.evaluator.show_states()

    def _reset_estimate(self, estimator: PerformanceEstimator | None | object) -> None:
        if estimator is KEEP:
            if self.estimate is not None:  # the same loss model: restarted, not rebuilt
                self.estimate.reset()
            return
        if isinstance(estimator, PerformanceEstimator):
            if self.estimate is not None:
                self.estimate.replace(estimator)
            else:
                self.estimate = EstimateFeed(
                    estimator, on_transition=self.feed.times.on_transition,
                    wall=self.feed.times.wall,
                )
        else:
            self.estimate = None
        self.evaluator.estimate = self.estimate

    def close(self) -> None:
        self.evaluator.close()



Detectors = tuple[SequentialMonitor, SequentialConcept | None]
Rebuild = Callable[[ReferenceProfile], Detectors]
