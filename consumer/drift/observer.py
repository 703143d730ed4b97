"""`DriftObserver`: feeds the drift monitors from committed batches and evaluates on a schedule.

The consume loop calls, in this order, only for committed batches (so each event and each label
is seen once, and an aborted, re-read batch only when it finally commits):

``on_batch(features, predictions, meta)``
    the scored events: buffered for the drift monitor, and their predictions into the label
    cache. The buffer goes into one `DriftMonitor.update` (features + ``prediction``) per
    `UPDATE_ROWS` rows and before every evaluation (the window keeps the newest): an update costs
    ~1 ms whatever its size up to thousands of rows, so five 1000-row updates cost ~4x one
    5000-row update. The buffer holds the batches' own frames (the processor builds a new one
    per batch) until then: about 0.3 ms per 1000 events in all.
``on_labels(messages)``
    the batch's label messages (topic `labels_topic`): decoded and joined.
``after_batch()``
    the matched labels into `ConceptDriftMonitor.update` (one vectorised call), bounded cache
    expiry, label metrics, then `maybe_evaluate()`.
``on_idle()``
    from the loop when a poll returned nothing: `maybe_evaluate()`, so the last labels and
    events of a burst are evaluated too.
``pause_labels``
    read after each batch: the processor pauses the labels partitions while the pending
    labels (ahead of their events: catching up on a backlog) leave less room than one batch in
    their buffer, and resumes them at half that, so a backlog's labels wait in Kafka instead of
    being given up as unmatched.

Evaluation (~20-25 ms, on the loop thread) runs when something new arrived since the last one and
either `eval_interval` seconds passed or `eval_every` events were scored; never per batch. The
count trigger is held back while the last evaluation took more than `max_share` of the time
since it (--drift-eval-max-share, default 1 %): at 20,000 events/s, 5,000 events come every
0.25 s, and evaluating that often would cost ~10 % of the loop; the cap keeps the cost bounded
whatever the rate. Each evaluation sets the gauges (`DriftMetrics`) and publishes a report
record (`ReportPublisher`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

from consumer.pipeline.batch import BatchMeta, MessageLike
from consumer.drift.join import LabelCounts, LabelJoin
from consumer.drift.labels import decode_labels
from consumer.drift.metrics import DriftMetrics
from consumer.drift.reports import ReportPublisher, report_record
from consumer.ops.ratelimit import RateLimitedLog
from drift import ConceptDriftMonitor, ConceptReport, DriftMonitor, DriftReport
from drift.profile import PREDICTION

log = logging.getLogger(__name__)

UPDATE_ROWS = 5000


class DriftObserver:
    """Data drift on every scored event, concept drift on joined labels; see the module doc."""

    def __init__(
        self,
        monitor: DriftMonitor,
        metrics: DriftMetrics,
        *,
        eval_interval: float,
        eval_every: int,
        max_share: float = 1.0,
        headroom: int = 0,
        concept: ConceptDriftMonitor | None = None,
        join: LabelJoin | None = None,
        labels_topic: str | None = None,
        publisher: ReportPublisher | None = None,
        model_version: str = "",
        group_id: str = "",
        instance: str = "",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not eval_interval > 0 or eval_every < 1 or not 0 < max_share <= 1:
            raise ValueError(
                f"eval_interval must be > 0 s, eval_every >= 1 and max_share in (0, 1], got "
                f"{eval_interval}, {eval_every}, {max_share}"
            )
        if (join is None) != (labels_topic is None):
            raise ValueError("a label join needs a labels_topic, and a labels_topic a join")
        self.monitor = monitor
        self.metrics = metrics
        self.eval_interval = eval_interval
        self.eval_every = eval_every
        self.max_share = max_share
        self.headroom = headroom  # labels one batch may bring: the batch size
        self.concept = concept
        self.join = join
        self.labels_topic = labels_topic
        self.publisher = publisher
        self.model_version = model_version
        self.group_id = group_id
        self.instance = instance
        self.clock = clock
        self.wall = wall
        self.last_report: DriftReport | None = None
        self.last_concept: ConceptReport | None = None
        self.last_record: dict[str, object] | None = None
        self.update_rows = UPDATE_ROWS
        self._buffer: list[tuple[pd.DataFrame, np.ndarray]] = []
        self._buffered = 0
        self._events_since = 0
        self._labels_since = 0
        self._last_eval = clock()
        self.last_duration = 0.0  # seconds the last evaluation took
        self._synced = LabelCounts()
        self._evicted: dict[str, int] = {}
        self._invalid_log = RateLimitedLog(log)
        self._pause_labels = False
        metrics.window_size.set(monitor.window_size)
        metrics.set_report(monitor.evaluate())  # empty window: NaN statistics, nothing flagged
        reference = concept.reference.mae if concept is not None else None
        metrics.set_concept(None, reference)

    # -- fed by the consume loop ----------------------------------------------------------------
    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        if not len(features):
            return
        self._buffer.append((features, predictions))
        self._buffered += len(features)
        self._events_since += len(features)
        if self._buffered >= self.update_rows:
            self.flush()
        if self.join is not None:
            self.join.add_predictions(meta.event_ids, predictions)

    def on_labels(self, messages: Sequence[MessageLike]) -> None:
        if self.join is None or not messages:
            return
        decoded = decode_labels([msg.value() for msg in messages])
        for index, error in decoded.invalid:
            msg = messages[index]
            self._invalid_log.log(
                logging.WARNING, "invalid_label", "skipping invalid label %s[%s]@%s: %s",
                msg.topic(), msg.partition(), msg.offset(), error,
            )
        now_ms = int(self.wall() * 1000)
        published = [_timestamp_ms(messages[i], now_ms) for i in decoded.positions]
        self.join.add_invalid(len(decoded.invalid))
        self.join.add_labels(decoded.event_ids, decoded.prices, decoded.event_times, published)
        self._labels_since += len(messages)

    @property
    def pause_labels(self) -> bool:
        """Flow control of the labels topic: True once another batch of labels (`headroom`)
        might not fit in the pending buffer, until it is back to half that (labels far ahead of
        their events then wait in Kafka instead of being pushed out unmatched)."""
        if self.join is None:
            return False
        room = self.join.pending_size - self.headroom
        if self.join.pending_len > room:
            self._pause_labels = True
        elif self.join.pending_len <= room // 2:
            self._pause_labels = False
        return self._pause_labels

    def after_batch(self) -> None:
        if self.join is not None:
            # taken even without a concept monitor, or the matched pairs would pile up
            y_true, y_pred = self.join.take_matched()
            if self.concept is not None and y_true.size:
                self.concept.update(y_true, y_pred)
        self.on_idle()

    def on_idle(self) -> None:
        if self.join is not None:
            self.join.expire()
            self._sync_label_metrics()
        self.maybe_evaluate()

    def flush(self) -> None:
        """Hand the buffered rows to the drift monitor in one update."""
        if not self._buffer:
            return
        if len(self._buffer) == 1:
            features, predictions = self._buffer[0]
            frame = features.assign(**{PREDICTION: predictions})
        else:
            frame = pd.concat([f for f, _ in self._buffer], ignore_index=True)
            frame[PREDICTION] = np.concatenate([p for _, p in self._buffer])
        self._buffer, self._buffered = [], 0
        self.monitor.update(frame)
        self.metrics.window_fill.set(self.monitor.window_fill)

    # -- evaluation -------------------------------------------------------------------------------
    def due(self) -> bool:
        """Something new since the last evaluation, and the interval or the count reached (the
        count only once the last evaluation's cost is within `max_share`)."""
        if not (self._events_since or self._labels_since):
            return False
        since = self.clock() - self._last_eval
        if since >= self.eval_interval:
            return True
        return self._events_since >= self.eval_every and since * self.max_share >= (
            self.last_duration
        )

    def maybe_evaluate(self) -> bool:
        if not self.due():
            return False
        self.evaluate()
        return True

    def evaluate(self) -> dict[str, object]:
        """Evaluate now: set the gauges, publish the report record, return it."""
        started = time.perf_counter()
        self._last_eval = self.clock()
        self._events_since = self._labels_since = 0
        self.flush()
        report = self.monitor.evaluate()
        concept = self.concept.evaluate() if self.concept is not None else None
        evaluated_at = self.wall()
        m = self.metrics
        m.set_report(report)
        if concept is not None:
            m.set_concept(concept)
        m.last_evaluation.set(evaluated_at)
        m.evaluations.inc()
        counts = self.join.counts if self.join is not None else LabelCounts()
        record = report_record(
            evaluated_at_ms=int(evaluated_at * 1000), model_version=self.model_version,
            group_id=self.group_id, instance=self.instance, n_seen=self.monitor.n_seen,
            data=report, concept=concept, labels=counts.as_dict(),
        )
        if self.publisher is not None:
            self.publisher.publish(record)
        self.last_report, self.last_concept, self.last_record = report, concept, record
        if report.drifted_features or (concept is not None and concept.drift_detected):
            log.info(
                "drift: features %s, prediction %s, concept %s (window %d rows, %d seen)",
                list(report.drifted_features) or "none",
                bool(report.prediction and report.prediction.drift_detected),
                None if concept is None else concept.drift_detected,
                report.n_rows, report.n_seen,
            )
        self.last_duration = time.perf_counter() - started
        m.evaluation_duration.observe(self.last_duration)
        return record

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()

    def _sync_label_metrics(self) -> None:
        join = self.join
        if join is None:
            return
        now, seen = join.counts, self._synced
        for outcome, counter in self.metrics.labels.items():
            delta = getattr(now, outcome) - getattr(seen, outcome)
            if delta:
                counter.inc(delta)
                setattr(seen, outcome, getattr(now, outcome))
        for reason, total in (("size", join.evicted_size), ("ttl", join.evicted_ttl)):
            delta = total - self._evicted.get(reason, 0)
            if delta:
                self.metrics.cache_evictions.labels(reason=reason).inc(delta)
                self._evicted[reason] = total
        self.metrics.label_cache_size.set(join.cache_len)
        self.metrics.labels_pending.set(join.pending_len)


def _timestamp_ms(msg: MessageLike, default: int) -> int:
    """The message's Kafka timestamp (epoch ms), else `default`."""
    stamp = getattr(msg, "timestamp", None)
    if stamp is None:
        return default
    kind, value = stamp()
    return default if kind == TIMESTAMP_NOT_AVAILABLE or value < 0 else int(value)
