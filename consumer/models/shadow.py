"""Champion vs challenger on live traffic: shadow scoring and both models' window MAE.

`ShadowScoring` is a batch observer: while a challenger is loaded, each committed batch's valid
events are scored once more, by the challenger (one predict per batch, on the loop's thread like
the champion's; ``diamond_shadow_scoring_seconds`` measures it). Its predictions go to the
comparison's label join and, when `--shadow-topic` is set, to that topic (best effort, never the
predictions topic, never in the batch's transaction): the predictions topic only ever carries the
champion's.

`ModelComparison` keeps the MAE of the last `window` joined labels per model
(``diamond_concept_window_mae{model="champion|challenger"}``): the champion's from the service's
own label join (`consumer.drift.label_feed` hands it every matched pair), the challenger's from a
second `LabelJoin` of the shadow predictions, fed the same labels. Both windows then cover the
same events once `window` labels arrived after the challenger did. The retrainer decides
promotion on the same comparison over the whole group's traffic (see the README).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from consumer.drift.join import LabelJoin
from consumer.models.metrics import ModelMetrics
from consumer.pipeline.batch import BatchMeta
from consumer.pipeline.records import prediction_records
from consumer.pipeline.scoring import Scorer

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"


class WindowMAE:
    """Mean absolute error of the last `size` pairs (a ring buffer)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self._errors = np.zeros(size)
        self._next = 0
        self.n = 0

    def add(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        errors = np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))
        size = len(self._errors)
        errors = errors[np.isfinite(errors)][-size:]  # older ones would be overwritten anyway
        slots = (self._next + np.arange(len(errors))) % size
        self._errors[slots] = errors
        self._next = int((self._next + len(errors)) % size)
        self.n = min(size, self.n + len(errors))

    @property
    def value(self) -> float:
        return float(self._errors[:self.n].mean()) if self.n else float("nan")


class ModelComparison:
    def __init__(
        self, metrics: ModelMetrics, *, window: int, new_join: Callable[[], LabelJoin]
    ) -> None:
        self.metrics = metrics
        self.window = window
        self.new_join = new_join
        self.champion = WindowMAE(window)
        self.challenger: WindowMAE | None = None
        self.join: LabelJoin | None = None  # the shadow predictions, while a challenger exists

    def start(self) -> None:
        """A (new) challenger: an empty join and window."""
        self.join = self.new_join()
        self.challenger = WindowMAE(self.window)
        self._publish()

    def stop(self) -> None:
        self.join, self.challenger = None, None
        for series in (self.metrics.window_mae, self.metrics.window_labels):
            try:
                series.remove(CHALLENGER)
            except KeyError:
                pass

    def reset_champion(self) -> None:
        """The champion changed: its window starts over."""
        self.champion = WindowMAE(self.window)
        self._publish()

    def add_challenger(self, event_ids: Sequence[str], predictions: np.ndarray) -> None:
        if self.join is not None:
            self.join.add_predictions(event_ids, predictions)

    # -- the label feed's hooks -------------------------------------------------------------
    def on_labels(
        self, event_ids: Sequence[str], prices: Sequence[float], event_times: Sequence[int],
        published_ms: Sequence[int],
    ) -> None:
        if self.join is not None:
            self.join.add_labels(event_ids, prices, event_times, published_ms)

    def on_matched(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """The champion's matched pairs (the service's own join)."""
        if len(y_true):
            self.champion.add(y_true, y_pred)

    def after_batch(self) -> None:
        if self.join is not None and self.challenger is not None:
            y_true, y_pred = self.join.take_matched()
            if len(y_true):
                self.challenger.add(y_true, y_pred)
            self.join.expire()
        self._publish()

    def _publish(self) -> None:
        windows = [(CHAMPION, self.champion)]
        if self.challenger is not None:
            windows.append((CHALLENGER, self.challenger))
        for name, window in windows:
            self.metrics.window_mae.labels(model=name).set(window.value)
            self.metrics.window_labels.labels(model=name).set(window.n)


class ShadowScoring:
    """The challenger's predictions for every committed batch (a `BatchObserver`)."""

    def __init__(
        self,
        metrics: ModelMetrics,
        comparison: ModelComparison | None,
        *,
        producer: Any = None,
        topic: str = "",
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = metrics
        self.comparison = comparison
        self.producer = producer if topic else None
        self.topic = topic
        self.wall = wall
        self.scorer: Scorer | None = None

    @property
    def version(self) -> str | None:
        return self.scorer.version if self.scorer is not None else None

    def start(self, scorer: Scorer) -> None:
        previous = self.version
        if previous is not None:
            self.metrics.challenger_info.remove(previous)
        self.scorer = scorer
        self.metrics.challenger_info.labels(version=scorer.version).set(1)
        if self.comparison is not None:
            self.comparison.start()
        log.info("shadow-scoring challenger %s (replacing %s)", scorer.version, previous)

    def stop(self) -> None:
        if self.scorer is None:
            return
        self.metrics.challenger_info.remove(self.scorer.version)
        log.info("challenger %s withdrawn: shadow scoring stops", self.scorer.version)
        self.scorer = None
        if self.comparison is not None:
            self.comparison.stop()

    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        scorer = self.scorer
        if scorer is None or not len(features):
            return
        started = time.perf_counter()
        try:
            shadow = scorer.predict(features)
        except Exception as exc:  # the challenger's failure never costs the champion's batch
            self.metrics.shadow_failures.inc()
            log.warning("challenger %s failed on a batch of %d: %s", scorer.version,
                        len(features), exc)
            return
        self.metrics.shadow_seconds.observe(time.perf_counter() - started)
        if self.comparison is not None:
            self.comparison.add_challenger(meta.event_ids, shadow)
        if self.producer is not None:
            self._publish(self.producer, meta, shadow, scorer.version)

    def _publish(self, producer: Any, meta: BatchMeta, shadow: np.ndarray, version: str) -> None:
        records = prediction_records(self.topic, meta, shadow, version, int(self.wall() * 1000))
        for record in records:
            try:
                producer.produce(record.topic, value=record.value, key=record.key)
            except BufferError:
                producer.poll(0.1)  # best effort: one retry after the queue drained a bit
                try:
                    producer.produce(record.topic, value=record.value, key=record.key)
                except BufferError:
                    self.metrics.shadow_failures.inc()
                    return
        producer.poll(0)

    def close(self) -> None:
        if self.producer is not None:
            self.producer.flush(5.0)
