"""One micro-batch in three steps: `prepare` (swap a waiting model in, transform with the pure
pipeline), `write` (the sink writes the records and commits the offsets), `finish` (count, record,
observe). `process` runs the three in a row; the loop overlaps them (consumer.loop.overlap):
`write` is `send` (queue the records, in the loop's thread) and `complete` (wait for the broker
and commit), which touches no state of the processor and runs in the writer thread while the
loop prepares the next batch.

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
from confluent_kafka import TopicPartition

from consumer.edge.delivery import OutputRejectedError, Sink
from consumer.edge.lag import LagTracker
from consumer.edge.offsets import next_offsets
from consumer.models.switch import ModelSwitch
from consumer.observers import BatchObserver, LabelHandler, Scheduled, call_safely, notify
from consumer.ops.metrics import ConsumerMetrics, observe_many
from consumer.ops.ratelimit import RateLimitedLog
from consumer.pipeline import MessageLike, PipelineConfig, Scorer, transform
from consumer.pipeline.transform import BatchOutcome
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)

SLOW_BATCH_SECONDS = 60.0  # max.poll.interval.ms defaults to 300 s
MAX_REFUSED = 10_000  # refused events remembered until their batch commits (oldest dropped)


@dataclass(frozen=True)
class PreparedBatch:
    """A transformed batch, ready to be written: its records, the offsets to commit after it."""

    messages: Sequence[MessageLike]
    inputs: Sequence[MessageLike]  # the input events (label messages apart)
    labels: list[MessageLike]
    out: BatchOutcome
    offsets: list[TopicPartition]
    started: float  # perf_counter() when prepare began
    scoring_seconds: float


@dataclass(frozen=True)
class Written:
    """A batch's write: whether its offsets were committed, and when it returned."""

    committed: bool
    at: float  # time.time(): the latency's end
    seconds: float  # perf_counter()


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
        """prepare, write, finish in one call (no overlap). Raises DeliveryError (nothing
        committed; OutputRejectedError when records were refused on their own) or
        FatalKafkaError. A model failure on some events is no error: they are dead-lettered
        (``scoring_failed``, see `transform`)."""
        batch = self.prepare(messages)
        try:
            written = self.write(batch)
        except OutputRejectedError as exc:
            self.remember_refused(exc)
            raise
        return self.finish(batch, written)

    def prepare(self, messages: Sequence[MessageLike]) -> PreparedBatch:
        """Swap a waiting model in, then transform the batch: everything before the write,
        nothing that needs the previous batch written (the loop runs it while that write is in
        flight)."""
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
        return PreparedBatch(
            messages=messages, inputs=inputs, labels=labels, out=out,
            offsets=next_offsets(self.consumer, messages), started=started,
            scoring_seconds=self.scorer.last_seconds if len(out.batch) else 0.0,
        )

    @property
    def swap_waiting(self) -> bool:
        """A model is waiting to be swapped in by the next `prepare` or `idle`."""
        return self.models is not None and self.models.waiting

    def write(self, batch: PreparedBatch) -> Written:
        """`send` then `complete`: write the batch's records and commit its offsets."""
        self.send(batch)
        return self.complete(batch)

    def send(self, batch: PreparedBatch) -> None:
        """Queue the batch's records (`Sink.send`; Python-bound: the loop's thread)."""
        self.sink.send(batch.out.outputs, batch.out.dead_letters)

    def complete(self, batch: PreparedBatch) -> Written:
        """Wait until the records are durable, commit the offsets (`Sink.complete`): touches no
        state of the processor, so the writer thread runs it (consumer.loop.overlap)."""
        committed = self.sink.complete(batch.offsets)
        return Written(committed=committed, at=time.time(), seconds=time.perf_counter())

    def settle_commits(self) -> None:
        """Every offset commit requested so far is done (`Sink.settle_commits`)."""
        self.sink.settle_commits()

    def finish(self, batch: PreparedBatch, written: Written) -> BatchResult:
        """After the write: count, record the latency, move the lag, notify the observers and
        the label handler. Counters move only here, so a batch that failed is counted once,
        when its retry is written."""
        m, out, inputs = self.metrics, batch.out, batch.inputs
        if self.refused:  # written: forget this batch's events
            for msg, _ in out.rejected:
                self.refused.pop((msg.topic(), int(msg.partition() or 0),
                                  int(msg.offset() or 0)), None)
        m.events_consumed.inc(len(inputs))
        m.predictions_published.inc(len(out.outputs))
        m.dlq_published.inc(len(out.dead_letters))
        for _, r in out.rejected:
            m.invalid_events.labels(reason=r.reason).inc()
        m.batches.inc()
        m.batch_size.observe(len(batch.messages))
        scored = out.batch
        if len(scored):
            m.scoring_duration.observe(batch.scoring_seconds)
            # an event_time ahead of this clock (within the tolerance) is no negative latency
            latency = written.at - scored.meta.event_times / 1000.0
            observe_many(m.end_to_end_latency, np.maximum(latency, 0.0))
        elapsed = written.seconds - batch.started
        m.batch_duration.observe(elapsed)
        if elapsed > SLOW_BATCH_SECONDS:
            log.warning(
                "a batch of %d events took %.0f s: keep batches well inside max.poll.interval.ms"
                " (lower --batch-size)", len(batch.messages), elapsed,
            )
        m.last_batch_timestamp.set(written.at)
        if written.committed:
            self.lag.on_commit(batch.offsets)
        if len(scored):
            notify(self.observers, scored.features, out.predictions, scored.meta, m)
        if self.labels is not None and batch.labels:
            call_safely(self.labels.on_labels, type(self.labels).__name__, m, batch.labels)
        for observer in self.scheduled:
            call_safely(observer.after_batch, type(observer).__name__, m)
        return BatchResult(len(inputs), len(out.outputs), len(out.dead_letters),
                           written.committed)

    def remember_refused(self, exc: OutputRejectedError) -> None:
        """The events behind the records refused on their own: the retry dead-letters them."""
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
