"""The consume loop: ask for a batch, process it, retry it, idle, until stopped.

Rebalance safety: every write and commit happens *between* `consume()` calls, and librdkafka
only runs the rebalance callbacks *inside* `consume()`; so `on_revoke` never sees an open
transaction (exactly-once) nor unacknowledged outputs (at-least-once): nothing is pending there.

Each turn::

    want = BatchBudget.size (capped by max_events)  --> consume()  --> error events apart
    data  --> BatchProcessor.process  --ok-->  RunSummary, budget
                                      --DeliveryError--> RetryPolicy: rewind + backoff
    none  --> BatchProcessor.idle, commit positions over trailing transaction markers
    then  --> LabelFlow.pace (pause / resume the labels topic)
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, TopicPartition

from consumer.edge.clients import max_poll_interval
from consumer.edge.errors import ClientErrors
from consumer.edge.lag import LagTracker
from consumer.edge.offsets import first_offsets, rewind
from consumer.exceptions import DeliveryError
from consumer.loop.budget import BatchBudget
from consumer.loop.flow import LabelFlow
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

    def run(self) -> RunSummary:
        """Until `stop_event` is set or `max_events` are committed; the summary's `seconds` is
        the loop's own time (startup excluded)."""
        started = time.perf_counter()
        try:
            self._run()
        finally:
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _run(self) -> None:
        s, summary, consumer = self.settings, self.summary, self.consumer
        last_idle_check = time.monotonic()
        budget = BatchBudget(s.batch_size, max_poll_interval(s))  # see consumer.loop.budget
        while not self.stop_event.is_set():
            self.errors.raise_if_fatal()
            want = budget.size
            if s.max_events is not None:
                want = min(want, s.max_events - summary.consumed)
                if want <= 0:
                    log.info("max_events=%d reached", s.max_events)
                    break
            messages = self._consume(want)
            self.health.beat()
            if not self.health.first_poll_done:
                self.health.first_poll_done = True
                self.metrics.ready.set(1)
            data = self._data_messages(messages)
            if data:
                batch_started = time.perf_counter()
                try:
                    result = self.processor.process(data)
                except DeliveryError as exc:
                    budget.record(len(data), time.perf_counter() - batch_started)
                    summary.retries += 1
                    self.metrics.batch_retries.inc()
                    delay = self.retry.failed(exc, cap=budget.seconds)
                    log.error(
                        "batch of %d events NOT committed (attempt %d/%d): %s; rewinding to the "
                        "committed offsets and retrying in %.1f s",
                        len(data), self.retry.failures, self.retry.max_failures, exc, delay,
                    )
                    rewind(consumer, first_offsets(data))
                    self.stop_event.wait(delay)
                    continue
                budget.record(len(data), time.perf_counter() - batch_started)
                self.retry.succeeded()
                summary.consumed += result.consumed
                summary.predictions += result.predictions
                summary.dead_lettered += result.dead_lettered
                summary.batches += 1
                if self.flow is not None:
                    self.flow.pace()
                continue
            self.processor.idle()  # e.g. drift evaluates the tail of a burst (if due)
            if self.flow is not None:
                self.flow.pace()
            if time.monotonic() - last_idle_check >= s.lag_interval:
                last_idle_check = time.monotonic()
                self._commit_idle_positions()

    def _consume(self, want: int) -> list[Message]:
        """Up to `want` messages already fetched, without waiting; when none is, wait up to
        batch_timeout for the first one. A batch is never held back to fill up (consume() waits
        its whole timeout unless `want` messages arrive): under load batches are full, at a
        lower rate they hold what arrived during the previous batch, so the added latency is one
        batch's processing, not batch_timeout. Messages only ever come from one consume() call
        per batch, so the rebalance safety above holds."""
        consume = self.consumer.consume
        messages: list[Message] = consume(num_messages=want, timeout=0)
        if messages:
            return messages
        return consume(num_messages=1, timeout=self.settings.batch_timeout)

    def _data_messages(self, messages: list[Message]) -> list[Message]:
        data = []
        for msg in messages:
            err = msg.error()
            if err is None:
                data.append(msg)
            elif err.code() != KafkaError._PARTITION_EOF:
                self.errors.on_consume_error(err, msg.topic(), msg.partition())
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
