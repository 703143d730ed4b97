"""One micro-batch: decode and validate, score, build outputs, write + commit, record, observe.

Counters move only after the batch is committed, so an aborted and re-read batch is counted
once, and the observers see each committed event once.

With a drift monitor that joins labels, the batch may also hold messages of its `labels_topic`:
they are never decoded as diamond events (nor dead-lettered), their offsets are committed with
the batch's (the same transaction in exactly-once), and the monitor gets them after the commit.
While the monitor's `pause_labels` holds (labels far ahead of their events, e.g. catching up on a
backlog) the assigned labels partitions are paused, and resumed once their events caught up.
`BatchResult.consumed` and ``diamond_events_consumed_total`` count input events only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from consumer.pipeline.batch import MessageLike, decode_batch
from consumer.edge.delivery import Sink
from consumer.edge.lag import LagMonitor
from consumer.ops.metrics import ConsumerMetrics, observe_many
from consumer.observers import BatchObserver, StreamMonitor, call_safely, notify
from consumer.pipeline.records import dlq_record, prediction_records
from consumer.ops.ratelimit import RateLimitedLog
from consumer.pipeline.scoring import Scorer
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)

SLOW_BATCH_SECONDS = 60.0  # max.poll.interval.ms defaults to 300 s


@dataclass(frozen=True)
class BatchResult:
    consumed: int
    predictions: int
    dead_lettered: int
    committed: bool


class BatchProcessor:
    def __init__(
        self,
        settings: ConsumerSettings,
        *,
        scorer: Scorer,
        sink: Sink,
        consumer: Any,
        metrics: ConsumerMetrics,
        lag: LagMonitor,
        observers: Sequence[BatchObserver] = (),
        monitor: StreamMonitor | None = None,
    ) -> None:
        self.settings = settings
        self.scorer = scorer
        self.sink = sink
        self.consumer = consumer
        self.metrics = metrics
        self.lag = lag
        # the monitor sees batches like any observer, after the others
        self.observers = [*observers, *([monitor] if monitor is not None else [])]
        self.monitor = monitor
        self.labels_topic = monitor.labels_topic if monitor is not None else None
        self.labels_paused = False
        self.reject_log = RateLimitedLog(log)

    def process(self, messages: Sequence[MessageLike]) -> BatchResult:
        """Raises DeliveryError (nothing committed), FatalKafkaError or ScoringError."""
        s, m = self.settings, self.metrics
        started = time.perf_counter()
        inputs, labels = self.split_labels(messages)
        batch, rejected = decode_batch(s.input_topic, inputs, s.max_event_bytes)
        for msg, result in rejected:
            self.reject_log.log(
                logging.WARNING, result.reason, "dead-lettering %s[%s]@%s: %s: %s",
                msg.topic(), msg.partition(), msg.offset(), result.reason, result.error,
            )
        predictions = self.scorer.predict(batch.features)
        now_ms = int(time.time() * 1000)
        outputs = prediction_records(
            s.output_topic, batch.meta, predictions, self.scorer.version, now_ms
        )
        dlq = [dlq_record(s.dlq_topic, msg, r, s.group_id, now_ms) for msg, r in rejected]
        offsets = self.next_offsets(messages)
        committed = self.sink.write_batch(outputs, dlq, offsets)
        done = time.time()

        m.events_consumed.inc(len(inputs))
        m.predictions_published.inc(len(outputs))
        m.dlq_published.inc(len(dlq))
        for _, r in rejected:
            m.invalid_events.labels(reason=r.reason).inc()
        m.batches.inc()
        m.batch_size.observe(len(messages))
        if len(batch):
            m.scoring_duration.observe(self.scorer.last_seconds)
            observe_many(m.end_to_end_latency, done - batch.meta.event_times / 1000.0)
        elapsed = time.perf_counter() - started
        m.batch_duration.observe(elapsed)
        if elapsed > SLOW_BATCH_SECONDS:
            log.warning(
                "a batch of %d events took %.0f s: keep batches well inside max.poll.interval.ms"
                " (lower --batch-size)", len(messages), elapsed,
            )
        m.last_batch_timestamp.set(done)
        if committed:
            self.lag.on_commit(offsets)
        if len(batch):
            notify(self.observers, batch.features, predictions, batch.meta, m)
        if self.monitor is not None:
            name = type(self.monitor).__name__
            if labels:
                call_safely(self.monitor.on_labels, name, m, labels)
            call_safely(self.monitor.after_batch, name, m)
            self._pace_labels()
        return BatchResult(len(inputs), len(outputs), len(dlq), committed)

    def idle(self) -> None:
        """A poll returned nothing: let the monitor evaluate (if due) and pace the labels."""
        if self.monitor is None:
            return
        call_safely(self.monitor.on_idle, type(self.monitor).__name__, self.metrics)
        self._pace_labels()

    def _pace_labels(self) -> None:
        """Pause (again: a rebalance resumes) or resume the assigned labels partitions, as the
        monitor asks."""
        if self.monitor is None or self.labels_topic is None:
            return
        pause = self.monitor.pause_labels
        if not (pause or self.labels_paused):
            return
        try:
            tps = [tp for tp in self.consumer.assignment() if tp.topic == self.labels_topic]
            (self.consumer.pause if pause else self.consumer.resume)(tps)
        except KafkaException as exc:  # e.g. revoked meanwhile: the next batch tries again
            log.warning("could not %s %s: %s", "pause" if pause else "resume",
                        self.labels_topic, exc)
            return
        if pause != self.labels_paused:
            log.info("%s %s: %s", "pausing" if pause else "resuming", self.labels_topic,
                     "labels wait for their events" if pause else "their events caught up")
        self.labels_paused = pause

    def split_labels(
        self, messages: Sequence[MessageLike]
    ) -> tuple[Sequence[MessageLike], list[MessageLike]]:
        """(input messages, label messages) of a batch, each in consumption order."""
        topic = self.labels_topic
        if topic is None:
            return messages, []
        labels = [msg for msg in messages if msg.topic() == topic]
        if not labels:
            return messages, labels
        return [msg for msg in messages if msg.topic() != topic], labels

    def next_offsets(self, messages: Sequence[MessageLike]) -> list[TopicPartition]:
        """Per partition of the batch: the next offset to read (last + 1, or the position when
        librdkafka already stepped over transaction markers after it)."""
        nxt: dict[tuple[str, int], int] = {}
        for msg in messages:
            key = (str(msg.topic()), int(msg.partition() or 0))
            nxt[key] = max(nxt.get(key, -1), int(msg.offset() or 0) + 1)
        tps = [TopicPartition(t, p) for t, p in nxt]
        for tp in self.consumer.position(tps):
            key = (tp.topic, tp.partition)
            if tp.error is None and tp.offset > nxt[key]:
                nxt[key] = tp.offset
        return [TopicPartition(t, p, o) for (t, p), o in sorted(nxt.items())]


def first_offsets(messages: Sequence[MessageLike]) -> dict[tuple[str, int], int]:
    """Per partition: the first offset of the batch (where a rewind must go back to)."""
    first: dict[tuple[str, int], int] = {}
    for msg in messages:
        key = (str(msg.topic()), int(msg.partition() or 0))
        offset = int(msg.offset() or 0)
        first[key] = min(first.get(key, offset), offset)
    return first
