"""One micro-batch: decode and validate, score, build outputs, write + commit, record, observe.

Counters move only after the batch is committed, so an aborted and re-read batch is counted
once, and the observers see each committed event once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TopicPartition

from consumer.batch import MessageLike, build_batch
from consumer.decode import Rejected, decode_event
from consumer.delivery import Sink
from consumer.lag import LagMonitor
from consumer.metrics import ConsumerMetrics, observe_many
from consumer.observers import BatchObserver, notify
from consumer.outputs import dlq_record, prediction_records
from consumer.ratelimit import RateLimitedLog
from consumer.scoring import Scorer
from consumer.settings import ConsumerSettings
from model.schema import DiamondEvent

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
    ) -> None:
        self.settings = settings
        self.scorer = scorer
        self.sink = sink
        self.consumer = consumer
        self.metrics = metrics
        self.lag = lag
        self.observers = list(observers)
        self.reject_log = RateLimitedLog(log)

    def process(self, messages: Sequence[MessageLike]) -> BatchResult:
        """Raises DeliveryError (nothing committed), FatalKafkaError or ScoringError."""
        s, m = self.settings, self.metrics
        started = time.perf_counter()
        events: list[DiamondEvent] = []
        valid: list[MessageLike] = []
        rejected: list[tuple[MessageLike, Rejected]] = []
        for msg in messages:
            result = decode_event(msg.value(), s.max_event_bytes)
            if isinstance(result, Rejected):
                rejected.append((msg, result))
                self.reject_log.log(
                    logging.WARNING, result.reason, "dead-lettering %s[%s]@%s: %s: %s",
                    msg.topic(), msg.partition(), msg.offset(), result.reason, result.error,
                )
            else:
                events.append(result)
                valid.append(msg)
        batch = build_batch(s.input_topic, events, valid)
        predictions = self.scorer.predict(batch.features)
        now_ms = int(time.time() * 1000)
        outputs = prediction_records(
            s.output_topic, batch.meta, predictions, self.scorer.version, now_ms
        )
        dlq = [dlq_record(s.dlq_topic, msg, r, s.group_id, now_ms) for msg, r in rejected]
        offsets = self.next_offsets(messages)
        committed = self.sink.write_batch(outputs, dlq, offsets)
        done = time.time()

        m.events_consumed.inc(len(messages))
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
        return BatchResult(len(messages), len(outputs), len(dlq), committed)

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
