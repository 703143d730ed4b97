"""The one seam between the scoring loop and whatever watches it (drift monitoring, benches).

::

    committed batch ──> BatchObserver.on_batch(features, predictions, meta)   every observer
                    ──> LabelHandler.on_labels(label messages)               the label stream
                    ──> Scheduled.after_batch()                               observers that have it
    idle poll       ──> Scheduled.on_idle()
    after each      ──> LabelHandler.should_pause()   the loop pauses / resumes the labels topic

Only committed batches are seen, so an observer sees each committed event once (an aborted,
re-read batch only when it finally commits). Every hook runs through `call_safely`: an
exception is logged and counted (``diamond_observer_errors_total``), never fatal.

The labels topic (`LabelHandler.labels_topic`) is read by the same consumer as the events; its
messages are never scored nor dead-lettered, their offsets are committed with the batch, and
`should_pause()` (a question, no side effect on the answer's cause) lets the handler hold the
labels back while they run far ahead of their events (flow control, not a failure).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.batch import BatchMeta, MessageLike

log = logging.getLogger(__name__)


@runtime_checkable
class BatchObserver(Protocol):
    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        """Called once per committed batch; must not mutate its arguments. `features` has the
        columns of `model.features.FEATURES`: float64 numbers, and the categories as pandas
        categoricals of the schema's categories (`consumer.pipeline.batch.CATEGORY_DTYPES`)."""


@runtime_checkable
class Scheduled(Protocol):
    """An observer that also works on the loop's beat (e.g. evaluates on a schedule)."""

    def after_batch(self) -> None:
        """After each committed batch (and after `LabelHandler.on_labels`), even one without a
        scored event."""

    def on_idle(self) -> None:
        """When a poll returned nothing."""


class LabelHandler(Protocol):
    """The consumer of the labels topic."""

    labels_topic: str

    def on_labels(self, messages: Sequence[MessageLike]) -> None:
        """The committed batch's messages from `labels_topic` (after every `on_batch`)."""

    def should_pause(self, incoming: int = 0) -> bool:
        """True while the labels topic should be paused (labels wait for their predictions);
        `incoming` label messages were already read and are not handed over yet."""
        ...


def call_safely(
    call: Callable[..., Any], name: str, metrics: ConsumerMetrics, *args: Any
) -> None:
    """Run an observer hook; its exception is logged and counted, never raised."""
    try:
        call(*args)
    except Exception:
        metrics.observer_errors.labels(observer=name).inc()
        log.exception("observer %s failed in %s", name, getattr(call, "__name__", "a call"))


def notify(
    observers: Sequence[BatchObserver],
    features: pd.DataFrame,
    predictions: np.ndarray,
    meta: BatchMeta,
    metrics: ConsumerMetrics,
) -> None:
    for observer in observers:
        call_safely(observer.on_batch, type(observer).__name__, metrics, features, predictions,
                    meta)
