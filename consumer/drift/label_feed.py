"""`LabelFeed`: the label stream's handler (`consumer.observers.LabelHandler`).

``on_labels(messages)``
    the committed batch's label messages: decoded (invalid ones logged, rate-limited, and
    counted) and joined to the cached predictions (`LabelJoin`).
``add_predictions(event_ids, predictions)``
    from the drift observer's `on_batch`: the scored events' predictions into the join's cache.
``after_batch()`` / ``on_idle()``
    the matched labels into `ConceptFeed.update` (the sequential concept flag; one vectorised
    call, after a batch only), bounded cache expiry, then the label metrics. Each error is clipped
    first, to ``ERROR_CAP`` reference MAEs, so one label moves the MAE ratio of a report by at most
    ``ERROR_CAP / labels in it`` (the flag itself bins the errors, so its step is bounded anyway).
``should_pause()``
    asked by the loop after each batch and idle poll. The pending buffer never blocks the
    stream: when full, its oldest labels are dropped and counted unmatched (`LabelJoin`). A
    pause is kept for its one real use, labels ahead of their events (a backlog being caught
    up): it starts once another batch of labels (`headroom`, the batch size) might not fit, and
    holds while the waiting labels get joined, until the buffer is back to half that. If none
    is joined for `pause_patience` seconds (a flood of labels that never match: junk, another
    instance's), the stream resumes and is not paused again until a waiting label is joined:
    real labels keep flowing, and the junk is pushed out oldest first.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

from consumer.drift.feed import ConceptFeed
from consumer.drift.join import LabelCounts, LabelJoin
from consumer.drift.labels import decode_labels
from consumer.drift.metrics import DriftMetrics
from consumer.ops.ratelimit import RateLimitedLog
from consumer.pipeline.batch import MessageLike

log = logging.getLogger(__name__)

ERROR_CAP = 10.0  # reference MAEs: the largest error one label may bring to the concept feed
PAUSE_PATIENCE = 10.0  # seconds a pause may last without a waiting label being joined


class LabelFeed:
    def __init__(
        self,
        join: LabelJoin,
        metrics: DriftMetrics,
        *,
        labels_topic: str,
        headroom: int = 0,
        concept: ConceptFeed | None = None,
        on_received: Callable[[int], None] = lambda n: None,
        wall: Callable[[], float] = time.time,
        max_price: float = math.inf,
        pause_patience: float = PAUSE_PATIENCE,
    ) -> None:
        if not labels_topic:
            raise ValueError("a label join needs a labels_topic, got an empty one")
        self.join = join
        self.metrics = metrics
        self.labels_topic = labels_topic
        self.headroom = headroom
        self.concept = concept
        self.on_received = on_received  # the evaluation schedule counts labels as news
        self.wall = wall
        self.max_price = max_price  # larger label prices are invalid (`max_label_price`)
        self.pause_patience = pause_patience
        self._paused = False
        self._futile = False  # the last pause joined nothing: no new one until a label joins
        self._pending_matched = 0  # join.pending_matched at the last progress
        self._last_progress = 0.0  # join.clock() then (or when the pause began)
        self._synced = LabelCounts()
        self._evicted: dict[str, int] = {}
        self._invalid_log = RateLimitedLog(log)
        # champion vs challenger (consumer.models.shadow), set by the service when it follows
        # the models topic
        self.comparison: LabelListener | None = None

    @property
    def counts(self) -> LabelCounts:
        return self.join.counts

    def add_predictions(self, event_ids: Sequence[str], predictions: np.ndarray) -> None:
        self.join.add_predictions(event_ids, predictions)

    def forget_predictions(self) -> None:
        """The model changed: its cached predictions go (their labels count unmatched)."""
        self.join.forget_predictions()

    def on_labels(self, messages: Sequence[MessageLike]) -> None:
        if not messages:
            return
        decoded = decode_labels([msg.value() for msg in messages], max_price=self.max_price)
        for index, error in decoded.invalid:
            msg = messages[index]
            self._invalid_log.log(
                logging.WARNING, "invalid_label", "skipping invalid label %s[%s]@%s: %s",
                msg.topic(), msg.partition(), msg.offset(), error,
            )
        now_ms = int(self.wall() * 1000)
        published = [timestamp_ms(messages[i], now_ms) for i in decoded.positions]
        self.join.add_invalid(len(decoded.invalid))
        self.join.add_labels(decoded.event_ids, decoded.prices, decoded.event_times, published)
        if self.comparison is not None:
            self.comparison.on_labels(decoded.event_ids, decoded.prices, decoded.event_times,
                                      published)
        self.on_received(len(messages))

    def should_pause(self, incoming: int = 0) -> bool:
        """Flow control of the labels topic: only while it pays off (see the module docstring).
        `incoming`: labels already read and not handed over yet (the batch the loop prepared
        behind the write in flight), counted as if pending."""
        join = self.join
        now = join.clock()
        pending = join.pending_len + incoming
        if join.pending_matched > self._pending_matched:  # waiting labels are being joined
            self._pending_matched = join.pending_matched
            self._last_progress = now
            self._futile = False
        room = join.pending_size - self.headroom
        if pending <= room // 2:
            self._paused = False
        elif self._paused and now - self._last_progress >= self.pause_patience:
            self._paused, self._futile = False, True
            log.warning(
                "%d labels pending and none joined for %.0f s: reading %s on, the oldest "
                "pending are dropped as unmatched", join.pending_len, self.pause_patience,
                self.labels_topic,
            )
        elif pending > room and not (self._paused or self._futile):
            self._paused = True
            self._last_progress = now  # the patience runs from here
        return self._paused

    def after_batch(self) -> None:
        # taken even without a concept monitor, or the matched pairs would pile up
        y_true, y_pred = self.join.take_matched()
        if self.concept is not None and y_true.size:
            self.concept.update(clip_errors(y_true, y_pred, self.concept), y_pred)
        if self.comparison is not None:
            self.comparison.on_matched(y_true, y_pred)
            self.comparison.after_batch()
        self.on_idle()

    def on_idle(self) -> None:
        self.join.expire()
        self._sync_metrics()

    def _sync_metrics(self) -> None:
        join, seen = self.join, self._synced
        now = join.counts
        for outcome, counter in self.metrics.labels.items():
            delta = getattr(now, outcome) - getattr(seen, outcome)
            if delta:
                counter.inc(delta)
                setattr(seen, outcome, getattr(now, outcome))
        for reason, total in (
            ("size", join.evicted_size), ("ttl", join.evicted_ttl),
            ("model_change", join.evicted_model),
        ):
            delta = total - self._evicted.get(reason, 0)
            if delta:
                self.metrics.cache_evictions.labels(reason=reason).inc(delta)
                self._evicted[reason] = total
        self.metrics.label_cache_size.set(join.cache_len)
        self.metrics.labels_pending.set(join.pending_len)


class LabelListener(Protocol):
    """Also fed the decoded labels and the matched pairs (`consumer.models.ModelComparison`)."""

    def on_labels(
        self, event_ids: Sequence[str], prices: Sequence[float], event_times: Sequence[int],
        published_ms: Sequence[int],
    ) -> None: ...
    def on_matched(self, y_true: np.ndarray, y_pred: np.ndarray) -> None: ...
    def after_batch(self) -> None: ...


def clip_errors(y_true: np.ndarray, y_pred: np.ndarray, concept: ConceptFeed) -> np.ndarray:
    """`y_true` moved so that no error exceeds ERROR_CAP reference MAEs (either sign); NaN
    stays NaN (the detector skips it)."""
    cap = ERROR_CAP * concept.reference_mae
    return y_pred + np.clip(y_true - y_pred, -cap, cap)


def timestamp_ms(msg: MessageLike, default: int) -> int:
    """The message's Kafka timestamp (epoch ms), else `default`."""
    stamp = getattr(msg, "timestamp", None)
    if stamp is None:
        return default
    kind, value = stamp()
    return default if kind == TIMESTAMP_NOT_AVAILABLE or value < 0 else int(value)
