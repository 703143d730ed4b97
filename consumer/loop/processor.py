"""One micro-batch: transform (pure pipeline), write + commit (sink), record, observe.

Counters move only after the batch is committed, so an aborted and re-read batch is counted
once, and the observers see each committed event once.

With a label handler, the batch may also hold messages of its `labels_topic`: they are never
decoded as diamond events (nor dead-lettered), their offsets are committed with the batch's (the
same transaction in exactly-once), and the handler gets them after the commit, after every
observer's `on_batch` and before their `after_batch`. `BatchResult.consumed` and
``diamond_events_consumed_total`` count input events only.

A record refused on its own by the producer or the broker fails its batch with
`OutputRejectedError`; the processor remembers the events behind it (`refused`, bounded) so
that the retried batch dead-letters them (``output_rejected``, or a minimal dead letter when the
dead letter itself was refused) instead of producing the same record again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.edge.delivery import OutputRejectedError, Sink
from consumer.edge.lag import LagTracker
from consumer.edge.offsets import next_offsets
from consumer.models.switch import ModelSwitch
from consumer.observers import BatchObserver, LabelHandler, Scheduled, call_safely, notify
from consumer.ops.metrics import ConsumerMetrics, observe_many
from consumer.ops.ratelimit import RateLimitedLog
from consumer.pipeline import MessageLike, PipelineConfig, Scorer, transform
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)

SLOW_BATCH_SECONDS = 60.0  # max.poll.interval.ms defaults to 300 s
MAX_REFUSED = 10_000  # refused events remembered until their batch commits (oldest dropped)


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
        lag: LagTracker,
        observers: Sequence[BatchObserver] = (),
        labels: LabelHandler | None = None,
        models: ModelSwitch | None = None,
    ) -> None:
        self.config = PipelineConfig.from_settings(settings)
        self.scorer = scorer
        self.sink = sink
        self.consumer = consumer
        self.metrics = metrics
        self.lag = lag
        self.observers = list(observers)
        self.scheduled = [o for o in self.observers if isinstance(o, Scheduled)]
        self.labels = labels
        self.labels_topic = labels.labels_topic if labels is not None else None
        self.models = models  # swaps announced models in between two batches
        self.reject_log = RateLimitedLog(log)
        # (topic, partition, offset) -> how often the broker refused that event's output
        self.refused: dict[tuple[str | None, int, int], int] = {}

    def process(self, messages: Sequence[MessageLike]) -> BatchResult:
        """Raises DeliveryError (nothing committed; OutputRejectedError when records were
        refused on their own) or FatalKafkaError. A model failure on some events is no error:
        they are dead-lettered (``scoring_failed``, see `transform`)."""
        m = self.metrics
        started = time.perf_counter()
        if self.models is not None:  # between two batches: this one is scored whole by one model
            self.scorer = self.models.between_batches(self.scorer)
        inputs, labels = self.split_labels(messages)
        out = transform(inputs, scorer=self.scorer, config=self.config, refused=self.refused)
        for msg, result in out.rejected:
            self.reject_log.log(
                logging.WARNING, result.reason, "dead-lettering %s[%s]@%s: %s: %s",
                msg.topic(), msg.partition(), msg.offset(), result.reason, result.error,
            )
        offsets = next_offsets(self.consumer, messages)
        try:
            committed = self.sink.write_batch(out.outputs, out.dead_letters, offsets)
        except OutputRejectedError as exc:
            self._remember_refused(exc)
            raise
        if self.refused:  # written: forget this batch's events
            for msg, _ in out.rejected:
                self.refused.pop((msg.topic(), int(msg.partition() or 0),
                                  int(msg.offset() or 0)), None)
        done = time.time()

        batch = out.batch
        m.events_consumed.inc(len(inputs))
        m.predictions_published.inc(len(out.outputs))
        m.dlq_published.inc(len(out.dead_letters))
        for _, r in out.rejected:
            m.invalid_events.labels(reason=r.reason).inc()
        m.batches.inc()
        m.batch_size.observe(len(messages))
        if len(batch):
            m.scoring_duration.observe(self.scorer.last_seconds)
            # an event_time ahead of this clock (within the tolerance) is no negative latency
            latency = done - batch.meta.event_times / 1000.0
            observe_many(m.end_to_end_latency, np.maximum(latency, 0.0))
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
            notify(self.observers, batch.features, out.predictions, batch.meta, m)
        if self.labels is not None and labels:
            call_safely(self.labels.on_labels, type(self.labels).__name__, m, labels)
        for observer in self.scheduled:
            call_safely(observer.after_batch, type(observer).__name__, m)
        return BatchResult(len(inputs), len(out.outputs), len(out.dead_letters), committed)

    def _remember_refused(self, exc: OutputRejectedError) -> None:
        for (topic, partition, offset), error in exc.sources.items():
            source = (topic or self.config.input_topic, partition, offset)
            self.refused[source] = self.refused.get(source, 0) + 1
            log.error("the output of %s[%d]@%d was refused (%s): its retry dead-letters it",
                      source[0], partition, offset, error)
        while len(self.refused) > MAX_REFUSED:
            del self.refused[next(iter(self.refused))]

    def idle(self) -> None:
        """A poll returned nothing: a model swap if one waits, the scheduled observers'
        `on_idle` (e.g. evaluate if due)."""
        if self.models is not None:
            self.scorer = self.models.between_batches(self.scorer)
        for observer in self.scheduled:
            call_safely(observer.on_idle, type(observer).__name__, self.metrics)

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
