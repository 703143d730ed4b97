"""The scoring service: set up, run the consume loop, shut down cleanly.

Rebalance safety: every write and commit happens *between* `consume()` calls, and librdkafka
only runs the rebalance callbacks *inside* `consume()`; so `on_revoke` never sees an open
transaction (exactly-once) nor unacknowledged outputs (at-least-once): nothing is pending there.

Shutdown (SIGTERM/SIGINT set `stop_event`): the current batch is finished and committed, then
the consumer is closed (it leaves the group at once) and the producer flushed.

Drift monitoring (`consumer.monitoring`, on unless --no-drift) is built from the settings: the
group subscribes to the labels topic too, and the monitor evaluates after batches and when idle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import CollectorRegistry

from consumer.loop.budget import BatchBudget
from consumer.edge.clients import (
    build_admin,
    build_consumer,
    build_offsets_reader,
    build_producer,
    check_broker,
    max_poll_interval,
)
from consumer.edge.delivery import AtLeastOnceSink, ExactlyOnceSink, Sink, rewind
from consumer.exceptions import ConsumerError, DeliveryError, FatalKafkaError
from consumer.ops.http import HealthState, MetricsServer
from consumer.edge.lag import LagMonitor
from consumer.ops.metrics import ConsumerMetrics
from consumer.drift import build_drift_observer
from consumer.drift.build import check_copartitioned
from consumer.observers import BatchObserver, StreamMonitor, call_safely
from consumer.loop.processor import BatchProcessor, first_offsets
from consumer.ops.ratelimit import RateLimitedLog
from consumer.loop.summary import RunSummary, load_model
from consumer.pipeline.scoring import ModelLike, Scorer
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 8
BACKOFF_INITIAL, BACKOFF_MAX = 0.5, 10.0


class ScoringService:
    """Consume, score and publish until stopped (or `max_events` are committed)."""

    def __init__(
        self,
        settings: ConsumerSettings,
        *,
        registry: CollectorRegistry | None = None,
        stop_event: threading.Event | None = None,
        observers: Sequence[BatchObserver] = (),
        model: ModelLike | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = ConsumerMetrics(self.registry)
        self.health = HealthState(settings.liveness_timeout)
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.observers = list(observers)
        self.model = model
        self.monitor: StreamMonitor | None = None  # built in run() from the settings
        self.summary = RunSummary()
        self.server: MetricsServer | None = None
        self.started = threading.Event()  # set once the HTTP server listens
        self._fatal: KafkaError | None = None
        self._kafka_log = RateLimitedLog(log)

    @property
    def metrics_port(self) -> int | None:
        return self.server.port if self.server is not None else None

    def run(self) -> RunSummary:
        s = self.settings
        model = self.model if self.model is not None else load_model(s.model_path)
        self.metrics.set_model(model.version, model.model_type, model.sha256)
        self.health.model_loaded = True
        self.monitor = build_drift_observer(s, model, self.registry)
        try:
            self.server = MetricsServer(self.registry, self.health, s.metrics_addr, s.metrics_port)
            self.server.start()
        except OSError as exc:
            raise ConsumerError(
                f"cannot serve metrics on {s.metrics_addr}:{s.metrics_port}: {exc} "
                "(--metrics-port / CONSUMER_METRICS_PORT; 0 picks a free port)"
            ) from exc
        self.started.set()
        consumer: Consumer | None = None
        sink: Sink | None = None
        lag: LagMonitor | None = None
        try:
            check_copartitioned(s, check_broker(s))
            consumer = build_consumer(s, error_cb=self._on_kafka_error)
            producer = build_producer(s, error_cb=self._on_kafka_error)
            cls = ExactlyOnceSink if s.exactly_once else AtLeastOnceSink
            sink = cls(producer, consumer, self.metrics)
            sink.start()
            lag = LagMonitor(
                build_admin(s), s.group_id, self.metrics, s.lag_interval,
                offsets=build_offsets_reader(s),
            ).start()
            processor = BatchProcessor(
                s, scorer=Scorer(model, s.scoring_threads), sink=sink, consumer=consumer,
                metrics=self.metrics, lag=lag, observers=self.observers, monitor=self.monitor,
            )
            self._subscribe(consumer, lag)
            log.info(
                "scoring %s -> %s (dlq %s) as group %s, %s, model %s",
                s.input_topic, s.output_topic, s.dlq_topic, s.group_id, s.guarantee, model.version,
            )
            self.metrics.up.set(1)
            started = time.perf_counter()
            try:
                self._loop(consumer, processor, lag)
            finally:
                self.summary.seconds = time.perf_counter() - started
        finally:
            self.health.stopping = True
            self.metrics.up.set(0)
            self.metrics.ready.set(0)
            if lag is not None:
                lag.stop()
            if consumer is not None:
                try:
                    consumer.close()  # leaves the group now: partitions move without a timeout
                except (KafkaException, RuntimeError) as exc:
                    log.warning("closing the consumer failed: %s", exc)
            if sink is not None:
                sink.close()
            if self.monitor is not None:
                call_safely(self.monitor.close, type(self.monitor).__name__, self.metrics)
            self.server.stop()
        log.info(
            "stopped: %d events (%d predictions, %d dead-lettered) in %d batches, %.1f s, "
            "%.0f events/s",
            self.summary.consumed, self.summary.predictions, self.summary.dead_lettered,
            self.summary.batches, self.summary.seconds, self.summary.events_per_second,
        )
        return self.summary

    def _subscribe(self, consumer: Consumer, lag: LagMonitor) -> None:
        def on_assign(_: Consumer, partitions: list[TopicPartition]) -> None:
            log.info("assigned %s", _fmt(partitions))
            lag.on_assign(partitions)

        def on_revoke(_: Consumer, partitions: list[TopicPartition]) -> None:
            # Nothing pending here (see the module docstring): only per-partition state to drop.
            log.info("revoked %s", _fmt(partitions))
            lag.on_revoke(partitions)

        def on_lost(_: Consumer, partitions: list[TopicPartition]) -> None:
            log.warning("lost %s (session expired): another member re-reads them", _fmt(partitions))
            lag.on_revoke(partitions)

        topics = [self.settings.input_topic]
        if self.monitor is not None and self.monitor.labels_topic:
            topics.append(self.monitor.labels_topic)  # co-partitioned: see consumer.monitoring
        consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        self.health.subscribed = True

    def _loop(self, consumer: Consumer, processor: BatchProcessor, lag: LagMonitor) -> None:
        s, summary = self.settings, self.summary
        failures = 0
        last_idle_check = time.monotonic()
        budget = BatchBudget(s.batch_size, max_poll_interval(s))  # see consumer.budget
        while not self.stop_event.is_set():
            if self._fatal is not None:
                raise FatalKafkaError(f"fatal Kafka client error: {self._fatal}")
            want = budget.size
            if s.max_events is not None:
                want = min(want, s.max_events - summary.consumed)
                if want <= 0:
                    log.info("max_events=%d reached", s.max_events)
                    break
            messages = self._consume(consumer, want)
            self.health.beat()
            if not self.health.first_poll_done:
                self.health.first_poll_done = True
                self.metrics.ready.set(1)
            data = self._data_messages(messages)
            if data:
                batch_started = time.perf_counter()
                try:
                    result = processor.process(data)
                except DeliveryError as exc:
                    budget.record(len(data), time.perf_counter() - batch_started)
                    failures += 1
                    summary.retries += 1
                    self.metrics.batch_retries.inc()
                    if failures >= MAX_CONSECUTIVE_FAILURES:
                        raise DeliveryError(
                            f"gave up after {failures} consecutive failed batches: {exc}"
                        ) from exc
                    # no longer than a batch may take: the wait does not poll either
                    delay = min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** (failures - 1), budget.seconds)
                    log.error(
                        "batch of %d events NOT committed (attempt %d/%d): %s; rewinding to the "
                        "committed offsets and retrying in %.1f s",
                        len(data), failures, MAX_CONSECUTIVE_FAILURES, exc, delay,
                    )
                    rewind(consumer, first_offsets(data))
                    self.stop_event.wait(delay)
                    continue
                budget.record(len(data), time.perf_counter() - batch_started)
                failures = 0
                summary.consumed += result.consumed
                summary.predictions += result.predictions
                summary.dead_lettered += result.dead_lettered
                summary.batches += 1
                continue
            if self.monitor is not None:  # evaluates the tail of a burst (if due)
                processor.idle()
            if time.monotonic() - last_idle_check >= s.lag_interval:
                last_idle_check = time.monotonic()
                self._commit_idle_positions(consumer, processor, lag)

    def _consume(self, consumer: Consumer, want: int) -> list[Message]:
        """Up to `want` messages already fetched, without waiting; when none is, wait up to
        batch_timeout for the first one. A batch is never held back to fill up (consume() waits
        its whole timeout unless `want` messages arrive): under load batches are full, at a
        lower rate they hold what arrived during the previous batch, so the added latency is one
        batch's processing, not batch_timeout. Messages only ever come from one consume() call
        per batch, so the rebalance safety above holds."""
        messages = consumer.consume(num_messages=want, timeout=0)
        if messages:
            return messages
        return consumer.consume(num_messages=1, timeout=self.settings.batch_timeout)

    def _data_messages(self, messages: list[Message]) -> list[Message]:
        data = []
        for msg in messages:
            err = msg.error()
            if err is None:
                data.append(msg)
            elif err.code() == KafkaError._PARTITION_EOF:
                continue
            elif err.fatal():
                raise FatalKafkaError(f"fatal consumer error: {err}")
            else:
                self.metrics.kafka_errors.inc()
                self._kafka_log.log(
                    logging.ERROR, err.name(), "consume error on %s[%s]: %s",
                    msg.topic(), msg.partition(), err,
                )
        return data

    def _commit_idle_positions(
        self, consumer: Consumer, processor: BatchProcessor, lag: LagMonitor
    ) -> None:
        """When idle, move committed offsets over trailing transaction markers (else the lag
        of a transactionally-written input never reaches 0). Safe: the position only counts
        messages already returned, and every returned message was processed and committed."""
        committed = lag.committed()
        known = [TopicPartition(t, p) for (t, p) in lag.assigned() if (t, p) in committed]
        if not known:
            return
        ahead = [
            tp for tp in consumer.position(known)
            if tp.error is None and tp.offset > committed[(tp.topic, tp.partition)]
        ]
        if ahead:
            try:
                if processor.sink.write_batch([], [], ahead):
                    lag.on_commit(ahead)
            except DeliveryError as exc:
                log.warning("idle offset commit failed: %s", exc)

    def _on_kafka_error(self, err: KafkaError) -> None:
        self.metrics.kafka_errors.inc()
        if err.fatal():
            self._fatal = err
            log.error("fatal Kafka client error: %s", err)
        else:
            self._kafka_log.log(logging.WARNING, err.name(), "Kafka client error: %s", err)


def run_consumer(
    settings: ConsumerSettings,
    *,
    registry: CollectorRegistry | None = None,
    stop_event: threading.Event | None = None,
    observers: Sequence[BatchObserver] = (),
    model: ModelLike | None = None,
) -> RunSummary:
    """Run the service in this thread until stopped; raises ConsumerError subclasses."""
    service = ScoringService(
        settings, registry=registry, stop_event=stop_event, observers=observers, model=model
    )
    return service.run()


def _fmt(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
