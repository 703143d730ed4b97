"""The consume loop: ask for a batch, prepare it while the previous one is written, retry a
failed write, idle, until stopped.

Rebalance safety: librdkafka only runs the rebalance callbacks *inside* `consume()`, and the loop
only calls `consume()` with no prepared batch waiting; the one write that may be in flight then
(consumer.loop.overlap) is waited for by the callbacks (`before_revoke`), so `on_revoke` never
sees an open transaction (exactly-once) nor unacknowledged outputs (at-least-once).

Each turn::

    a write in flight and the last batch was not full --> settle it first (keeping up: serial)
    want = BatchBudget.size (capped by max_events)  --> consume()  --> error events apart
    data  --> prepare (transform)  [while batch N-1's write is in flight, when behind]
          --> settle N-1: ok --> submit N's write, finish N-1 (count, observe), budget
                          DeliveryError --> drop N, RetryPolicy: rewind both + backoff
    none  --> settle N-1, BatchProcessor.idle, commit positions over trailing transaction markers
    then  --> LabelFlow.pace (pause / resume the labels topic)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from confluent_kafka import Message, TopicPartition

from consumer.edge.clients import max_poll_interval
from consumer.edge.delivery import OutputRejectedError
from consumer.edge.errors import ClientErrors, split_errors
from consumer.edge.lag import LagTracker
from consumer.edge.offsets import first_offsets, rewind
from consumer.exceptions import DeliveryError
from consumer.loop.budget import BatchBudget
from consumer.loop.flow import LabelFlow
from consumer.loop.overlap import BatchWriter, Settled
from consumer.loop.processor import BatchProcessor
from consumer.loop.retry import RetryPolicy
from consumer.loop.summary import RunSummary
from consumer.ops.http import HealthState
from consumer.ops.metrics import ConsumerMetrics
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ConsumeLoop:
    """One consume loop over the app's clients; `summary` counts what it committed."""

    settings: ConsumerSettings
    _: KW_ONLY
    consumer: Any
    processor: BatchProcessor
    lag: LagTracker
    metrics: ConsumerMetrics
    health: HealthState
    errors: ClientErrors
    stop_event: threading.Event
    flow: LabelFlow | None = None
    summary: RunSummary = field(default_factory=RunSummary)
    retry: RetryPolicy = field(default_factory=RetryPolicy, init=False)
    writer: BatchWriter = field(init=False)
    budget: BatchBudget = field(init=False)
    # The last consume() returned a full batch: events are queued, so the loop prepares the
    # next batch while this one's write is in flight (throughput). Otherwise it lets the write
    # return first, so the next batch holds everything that arrived meanwhile: measured at
    # 5,000 events/s, overlapping then added ~10 ms to the at-least-once p50 (a batch scored
    # early waits for the write ahead of it, and both threads share 2 cores) and gained nothing
    # in exactly-once; at saturation it gains 8-15 % throughput.
    behind: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.writer = BatchWriter(self.processor.send, self.processor.complete,
                                  threaded=self.settings.overlap)
        self.budget = BatchBudget(self.settings.batch_size, max_poll_interval(self.settings))

    def run(self) -> RunSummary:
        """Until `stop_event` is set or `max_events` are committed; the summary's `seconds` is
        the loop's own time (startup excluded)."""
        started = time.perf_counter()
        clean = False
        try:
            self._run()
            clean = True
        finally:
            self._drain(finish=clean)
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    def before_revoke(self) -> None:
        """For the rebalance callbacks: let the write in flight return (invariant 3), and
        the offset commits requested so far complete (the next owner starts from them)."""
        self.writer.wait()
        self.processor.settle_commits()

    def _run(self) -> None:
        s, summary, writer = self.settings, self.summary, self.writer
        last_idle_check = time.monotonic()
        budget = self.budget
        while not self.stop_event.is_set():
            self.errors.raise_if_fatal()
            want = budget.size
            if s.max_events is not None:
                want = min(want, s.max_events - summary.consumed - writer.pending_events)
                if want <= 0:
                    if writer.pending is not None:
                        self._settle()  # the last batch may fail and be read again
                        continue
                    log.info("max_events=%d reached", s.max_events)
                    break
            if writer.pending is not None and not self.behind and not self._settle():
                continue  # keeping up: serial, see `behind`
            messages = self._consume(want)
            self.health.beat()
            if not self.health.first_poll_done:
                self.health.first_poll_done = True
                self.metrics.ready.set(1)
            data = self._data_messages(messages)
            self.behind = self.settings.overlap and len(messages) >= want
            if data:
                if self.processor.swap_waiting and not self._settle(discarded=data):
                    continue  # a swap is a barrier (invariant 5)
                prepared = self.processor.prepare(data)
                settled = writer.settle()
                if settled is not None and settled.error is not None:
                    self._failed(settled, discarded=data)
                    continue
                writer.submit(prepared)
                if settled is not None:
                    self._finished(settled)
                continue
            if not self._settle():
                continue
            self.processor.idle()  # e.g. drift evaluates the tail of a burst (if due)
            if self.flow is not None:
                self.flow.pace()
            if time.monotonic() - last_idle_check >= s.lag_interval:
                last_idle_check = time.monotonic()
                self._commit_idle_positions()

    def _settle(self, discarded: Sequence[Message] = ()) -> bool:
        """Wait for the write in flight and finish its batch; False when it failed (then
        `discarded`, consumed after it, is rewound with it)."""
        settled = self.writer.settle()
        if settled is None:
            return True
        if settled.error is not None:
            self._failed(settled, discarded=discarded)
            return False
        self._finished(settled)
        return True

    def _finished(self, settled: Settled) -> None:
        batch, written = settled.batch, settled.written
        assert written is not None  # noqa: S101 - settled without an error
        self.budget.record(len(batch.messages), written.seconds - batch.started)
        self.retry.succeeded()
        result = self.processor.finish(batch, written)
        summary = self.summary
        summary.consumed += result.consumed
        summary.predictions += result.predictions
        summary.dead_lettered += result.dead_lettered
        summary.batches += 1
        if self.flow is not None:  # the batch prepared behind, if any, holds labels read already
            behind = self.writer.pending
            self.flow.pace(len(behind.labels) if behind is not None else 0)

    def _failed(self, settled: Settled, *, discarded: Sequence[Message] = ()) -> None:
        """A failed write: re-raise what is no DeliveryError, else count it, rewind its batch
        and the one consumed behind it (invariant 4) and back off."""
        exc, batch = settled.error, settled.batch
        if not isinstance(exc, DeliveryError):
            raise exc  # type: ignore[misc]  # FatalKafkaError and the like: exit
        if isinstance(exc, OutputRejectedError):
            self.processor.remember_refused(exc)
        self.budget.record(len(batch.messages), time.perf_counter() - batch.started)
        self.summary.retries += 1
        self.metrics.batch_retries.inc()
        delay = self.retry.failed(exc, cap=self.budget.seconds)
        log.error(
            "batch of %d events NOT committed (attempt %d/%d): %s; rewinding to the "
            "committed offsets and retrying in %.1f s",
            len(batch.messages), self.retry.failures, self.retry.max_failures, exc, delay,
        )
        rewind(self.consumer, first_offsets([*batch.messages, *discarded]))
        self.stop_event.wait(delay)

    def _drain(self, *, finish: bool) -> None:
        """On the way out: the write in flight returns; its batch is finished (a clean stop)
        or left to be re-read from the committed offsets."""
        try:
            if not finish:
                self.writer.wait()
                return
            settled = self.writer.settle()
            if settled is None:
                return
            if settled.error is None:
                self._finished(settled)
            else:
                log.error("the last batch of %d events was not committed (%s): it is read "
                          "again at the next start", len(settled.batch.messages), settled.error)
        finally:
            self.writer.close()
            self.processor.settle_commits()

    def _consume(self, want: int) -> list[Message]:
        """Up to `want` messages already fetched, without waiting; when none is, wait up to
        batch_timeout for the first one. A batch is never held back to fill up (consume() waits
        its whole timeout unless `want` messages arrive): under load batches are full, at a
        lower rate they hold what arrived during the previous batch, so the added latency is one
        batch's processing, not batch_timeout. Messages only ever come from one consume() call
        per batch, so the rebalance safety above holds."""
        consume = self.consumer.consume
        messages: list[Message] = consume(num_messages=want, timeout=0)
        if messages or self.writer.pending is not None:
            return messages
        return consume(num_messages=1, timeout=self.settings.batch_timeout)

    def _data_messages(self, messages: list[Message]) -> list[Message]:
        data, errors = split_errors(messages)
        for msg in errors:
            self.errors.on_consume_error(msg.error(), msg.topic(), msg.partition())
        return data

    def _commit_idle_positions(self) -> None:
        """When idle, move committed offsets over trailing transaction markers (else the lag
        of a transactionally-written input never reaches 0). Safe: the position only counts
        messages already returned, and every returned message was processed and committed."""
        committed = self.lag.committed()
        known = [TopicPartition(t, p) for (t, p) in self.lag.assigned() if (t, p) in committed]
        if not known:
            return
        ahead = [
            tp for tp in self.consumer.position(known)
            if tp.error is None and tp.offset > committed[(tp.topic, tp.partition)]
        ]
        if ahead:
            try:
                if self.processor.sink.write_batch([], [], ahead):
                    self.lag.on_commit(ahead)
            except DeliveryError as exc:
                log.warning("idle offset commit failed: %s", exc)
