"""`DriftObserver`: the batch observer of drift monitoring, made of small parts.

The loop calls it only for committed batches, so each event and each label is seen once (an
aborted, re-read batch only when it finally commits)::

    on_batch(features, predictions, meta) --> DataFeed.add        (features + prediction)
                                          └-> LabelFeed.add_predictions   (the join's cache)
    after_batch() / on_idle()             --> LabelFeed.after_batch / on_idle (concept, expiry)
                                          └-> maybe_evaluate: EvaluationSchedule.due()
                                                --> DataFeed.flush --> Evaluator.evaluate

The label messages themselves go to the `LabelFeed` (`labels`): the loop's label handler,
which it also asks whether to pause the labels topic (`should_pause()`).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from consumer.drift.evaluator import Evaluator
from consumer.drift.feed import DataFeed
from consumer.drift.join import LabelCounts
from consumer.drift.label_feed import LabelFeed
from consumer.drift.schedule import EvaluationSchedule
from consumer.pipeline.batch import BatchMeta


class DriftObserver:
    """Data drift on every scored event, concept drift on joined labels; see the module doc."""

    def __init__(
        self,
        feed: DataFeed,
        evaluator: Evaluator,
        schedule: EvaluationSchedule,
        *,
        labels: LabelFeed | None = None,
    ) -> None:
        self.feed = feed
        self.evaluator = evaluator
        self.schedule = schedule
        self.labels = labels

    @property
    def last_record(self) -> dict[str, object] | None:
        """The report record of the last evaluation (None before the first)."""
        return self.evaluator.last_record

    @property
    def labels_topic(self) -> str | None:
        return self.labels.labels_topic if self.labels is not None else None

    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        if not len(features):
            return
        self.feed.add(features, predictions)
        self.schedule.add_events(len(features))
        if self.labels is not None:
            self.labels.add_predictions(meta.event_ids, predictions)

    def after_batch(self) -> None:
        if self.labels is not None:
            self.labels.after_batch()
        self.maybe_evaluate()

    def on_idle(self) -> None:
        if self.labels is not None:
            self.labels.on_idle()
        self.maybe_evaluate()

    def maybe_evaluate(self) -> bool:
        if not self.schedule.due():
            return False
        self.evaluate()
        return True

    def evaluate(self) -> dict[str, object]:
        """Evaluate now (flushing the buffered rows first): gauges, report record; returns it."""
        started = time.perf_counter()
        self.schedule.start()
        self.feed.flush()
        counts = self.labels.counts if self.labels is not None else LabelCounts()
        record = self.evaluator.evaluate(counts)
        duration = time.perf_counter() - started
        self.schedule.last_duration = duration
        self.evaluator.metrics.evaluation_duration.observe(duration)
        return record

    def close(self) -> None:
        self.evaluator.close()
