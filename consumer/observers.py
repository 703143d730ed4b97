"""Batch observers: the drift monitor and the late-label join plug in here.

After a batch is committed the service calls `on_batch(features, predictions, meta)` on each
observer, so an observer sees each committed event once (an aborted, re-read batch is only
observed when it finally commits). An observer's exception is logged and counted, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from consumer.batch import BatchMeta
from consumer.metrics import ConsumerMetrics

log = logging.getLogger(__name__)


@runtime_checkable
class BatchObserver(Protocol):
    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        """Called once per committed batch; must not mutate its arguments."""


def notify(
    observers: Sequence[BatchObserver],
    features: pd.DataFrame,
    predictions: np.ndarray,
    meta: BatchMeta,
    metrics: ConsumerMetrics,
) -> None:
    for observer in observers:
        try:
            observer.on_batch(features, predictions, meta)
        except Exception:
            name = type(observer).__name__
            metrics.observer_errors.labels(observer=name).inc()
            log.exception("observer %s failed on a batch of %d events", name, len(meta))
