"""Batch observers: the drift monitor and the late-label join plug in here.

After a batch is committed the service calls `on_batch(features, predictions, meta)` on each
observer, so an observer sees each committed event once (an aborted, re-read batch is only
observed when it finally commits). An observer's exception is logged and counted, never fatal.

A `StreamMonitor` (the drift monitor, `consumer.monitoring.DriftObserver`) is a batch observer
that also gets the committed batch's messages from its `labels_topic` (`on_labels`), a call
after each committed batch (`after_batch`) and one per idle poll (`on_idle`); the same policy
applies to all of them (`call_safely`). Its `pause_labels` asks the processor to pause the
labels partitions while too many labels wait for their events (flow control, not a failure).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from consumer.pipeline.batch import BatchMeta, MessageLike
from consumer.ops.metrics import ConsumerMetrics

log = logging.getLogger(__name__)


@runtime_checkable
class BatchObserver(Protocol):
    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        """Called once per committed batch; must not mutate its arguments."""


class StreamMonitor(BatchObserver, Protocol):
    labels_topic: str | None

    @property
    def pause_labels(self) -> bool:
        """True while the labels topic should be paused (labels wait for their predictions)."""
        ...

    def on_labels(self, messages: Sequence[MessageLike]) -> None:
        """The committed batch's messages from `labels_topic` (after `on_batch`)."""

    def after_batch(self) -> None:
        """After each committed batch, even one without a scored event."""

    def on_idle(self) -> None:
        """When a poll returned nothing."""

    def close(self) -> None: ...


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
