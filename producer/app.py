"""The run loop: pace, generate, publish events and delayed labels, report.

`run_producer(settings)` returns a `ProducerSummary`; `summary.ok` is true only when every event
and every label was delivered. The run ends after `events` events or `duration` seconds; labels
still pending then are sent when their delay is up (`--no-wait-labels`: at once, i.e. early),
then the producer flushes (at most `flush_timeout` s). A `StopRequest` (set by SIGINT/SIGTERM
through `handle_signals`) ends the run gracefully:

- first signal: stop generating; pending labels still wait for their delay, then flush;
- second signal: send the still-pending labels at once (early), then flush;
- third signal: stop waiting for the flush; what is undelivered is reported.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from common.kafka import client_config, redact
from common.signals import signal_handlers
from producer.events import EventGenerator, new_run_id
from producer.labels import LabelQueue
from producer.pacing import Pacer
from producer.publisher import PRODUCER_DEFAULTS, Publisher
from producer.settings import ProducerSettings
from producer.topics import ensure_topics

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_IDLE_WAIT = 0.05  # seconds: how long the loop may wait before re-checking stop/labels/progress


class StopRequest:
    """Counts stop requests; thread- and signal-safe enough for a flag read by one loop."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def request(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        return self._count


@contextmanager
def handle_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """Route SIGINT and SIGTERM to `stop` (main thread only); restore the handlers afterwards."""

    def on_signal(signum: int, _frame: Any) -> None:
        stop.request()
        log.warning("%s received (%d): %s", signal.Signals(signum).name, stop.count,
                    ("stopping, flushing", "sending pending labels now", "giving up the flush")[
                        min(stop.count, 3) - 1])

    with signal_handlers(on_signal):
        yield stop


@dataclass(frozen=True)
class ProducerSummary:
    """What a run did; `rate` is events sent per second of generation."""

    run_id: str
    sent: int
    delivered: int
    failed: int
    labels_sent: int
    labels_delivered: int
    labels_failed: int
    seconds: float
    total_seconds: float
    rate: float
    interrupted: bool

    @property
    def ok(self) -> bool:
        return self.delivered == self.sent and self.labels_delivered == self.labels_sent

    def line(self) -> str:
        status = "ok" if self.ok else "INCOMPLETE"
        return (
            f"{status}: run {self.run_id}: sent={self.sent} delivered={self.delivered} "
            f"failed={self.failed} labels_sent={self.labels_sent} "
            f"labels_delivered={self.labels_delivered} labels_failed={self.labels_failed} "
            f"in {self.seconds:.2f} s ({self.rate:,.0f} ev/s), {self.total_seconds:.2f} s total"
            + (" (interrupted)" if self.interrupted else "")
        )


def producer_config(settings: ProducerSettings) -> dict[str, Any]:
    base = {
        **PRODUCER_DEFAULTS,
        "linger.ms": settings.linger_ms,
        "compression.type": settings.compression,
    }
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def run_producer(
    settings: ProducerSettings,
    *,
    generator: EventGenerator | None = None,
    stop: StopRequest | None = None,
    producer_factory: Callable[[dict[str, Any]], Any] | None = None,
) -> ProducerSummary:
    """Send the configured stream; raises `ProducerError` or `KafkaToolkitError` (broker,
    topics) only for setup problems."""
    stop = stop or StopRequest()
    config = producer_config(settings)
    run_id = generator.run_id if generator else settings.run_id or new_run_id()
    log.info("producer %s scenario=%s seed=%d rate=%s events=%s duration=%s -> %s; config %s",
             run_id, settings.scenario, settings.seed, settings.rate or "max",
             settings.events, settings.duration, settings.topic, redact(config))
    if settings.create_topics:  # before loading the data: fail fast on a bad broker
        _create_topics(settings)
    if generator is None:
        generator = EventGenerator.from_settings(settings, run_id=run_id)
    kwargs = {} if producer_factory is None else {"producer_factory": producer_factory}
    with Publisher(config, flush_timeout=settings.flush_timeout, **kwargs) as publisher:
        loop = _Loop(settings, generator, publisher, stop)
        loop.generate()
        generated = time.monotonic()
        loop.finish_labels()
        remaining = publisher.flush(give_up=lambda: stop.count >= 3)
        if remaining:
            log.error("%d messages undelivered after the flush", remaining)
    ended = time.monotonic()
    seconds = max(generated - loop.started, 1e-9)
    events, labels = publisher.events, publisher.labels
    summary = ProducerSummary(
        run_id=generator.run_id, sent=events.sent, delivered=events.delivered,
        failed=events.failed, labels_sent=labels.sent, labels_delivered=labels.delivered,
        labels_failed=labels.failed, seconds=seconds, total_seconds=ended - loop.started,
        rate=events.sent / seconds, interrupted=stop.count > 0,
    )
    (log.info if summary.ok else log.error)("%s", summary.line())
    return summary


def _create_topics(settings: ProducerSettings) -> None:
    topics = {settings.topic: "--topic / PRODUCER_TOPIC"}
    if settings.labels:
        topics[settings.labels_topic] = "--labels-topic / PRODUCER_LABELS_TOPIC"
    admin_config = client_config(settings.bootstrap_servers, {}, settings.kafka_config)
    counts = ensure_topics(
        admin_config, topics, partitions=settings.partitions,
        replication_factor=settings.replication_factor, timeout=settings.admin_timeout,
    )
    if settings.labels and counts[settings.topic] != counts[settings.labels_topic]:
        log.warning(
            "%s has %d partitions but %s has %d: labels will not share their event's partition",
            settings.topic, counts[settings.topic], settings.labels_topic,
            counts[settings.labels_topic],
        )


class _Loop:
    """The generation phase and the label tail of one run (state shared by both)."""

    def __init__(
        self, settings: ProducerSettings, generator: EventGenerator, publisher: Publisher,
        stop: StopRequest,
    ) -> None:
        self.settings = settings
        self.generator = generator
        self.publisher = publisher
        self.stop = stop
        self.labels = (
            LabelQueue(delay=settings.label_delay, max_pending=settings.max_pending_labels)
            if settings.labels else None
        )
        self.pacer = Pacer(settings.rate, max_batch=MAX_BATCH)
        self.started = time.monotonic()
        self._next_progress = self.started + settings.progress_interval
        self._progress_sent = 0

    def generate(self) -> None:
        settings, publisher, labels = self.settings, self.publisher, self.labels
        limit = settings.events
        end = None if settings.duration is None else self.started + settings.duration
        self.pacer.start(self.started)
        while not self.stop.count:
            now = time.monotonic()
            if end is not None and now >= end:
                break
            if limit is not None and publisher.events.sent >= limit:
                break
            self._publish_labels(now)
            self._progress(now)
            n = self.pacer.allowance(now)
            if limit is not None:
                n = min(n, limit - publisher.events.sent)
            if labels is not None:
                n = min(n, labels.room)
            if n <= 0:
                publisher.poll(min(self._wait(now), MAX_IDLE_WAIT))
                continue
            batch = self.generator.take(n)
            publisher.send(settings.topic, zip(batch.keys, batch.values, strict=True),
                           stats=publisher.events, timestamp=batch.event_time)
            self.pacer.record(n)
            if labels is not None:  # the delay counts from the hand-over to librdkafka
                labels.add(batch, sent_at=time.monotonic())

    def finish_labels(self) -> None:
        """After generation: wait for pending labels' delay (or send them at once)."""
        labels = self.labels
        while labels is not None and len(labels):
            now = time.monotonic()
            if not self.settings.wait_labels or self.stop.count >= 2:
                log.info("sending %d pending labels without waiting for their delay", len(labels))
                self._publish_labels(None)
                break
            self._publish_labels(now)
            self._progress(now)
            due = labels.next_due
            if due is not None:
                self.publisher.poll(min(max(due - now, 0.001), MAX_IDLE_WAIT))

    def _publish_labels(self, now: float | None) -> None:
        labels = self.labels
        if labels is None or not len(labels):
            return
        due = labels.next_due
        if now is not None and (due is None or due > now):
            return
        # Kafka timestamp 0 = now: the moment the label is published.
        self.publisher.send(self.settings.labels_topic, labels.pop_due(now),
                            stats=self.publisher.labels)

    def _wait(self, now: float) -> float:
        wait = self.pacer.wait(now) if self.pacer.rate else 0.001
        due = self.labels.next_due if self.labels is not None else None
        if due is not None:
            wait = min(wait, max(due - now, 0.001))
        return wait

    def _progress(self, now: float) -> None:
        if now < self._next_progress:
            return
        events, labels = self.publisher.events, self.publisher.labels
        interval = self.settings.progress_interval + (now - self._next_progress)
        rate = (events.sent - self._progress_sent) / interval
        log.info("sent=%d delivered=%d failed=%d labels_sent=%d labels_delivered=%d "
                 "pending_labels=%d rate=%.0f ev/s (target %s)", events.sent, events.delivered,
                 events.failed, labels.sent, labels.delivered, len(self.labels or ()), rate,
                 f"{self.settings.rate:g}" if self.settings.rate else "max")
        self._progress_sent = events.sent
        self._next_progress = now + self.settings.progress_interval
