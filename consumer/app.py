"""The scoring service: set up, run the consume loop, shut down cleanly. Lifecycle only.

::

    ScoringService.run()
      load the model --> drift observer (consumer.drift) --> HTTP server (consumer.ops)
      --> broker check, consumer, producer, sink, lag tracker (consumer.edge)
      --> BatchProcessor + ConsumeLoop (consumer.loop) --> transform (consumer.pipeline)
      --> the model follower (consumer.models: announced models swapped in between batches)
      --> on exit, in reverse: model follower, lag tracker, consumer, sink, drift observer,
          HTTP server

Every resource is registered on one `ExitStack` as soon as it exists, so whatever fails (the
broker check, the loop, a signal) closes exactly what was opened, in reverse order.

Shutdown (SIGTERM/SIGINT set `stop_event`): the current batch is finished and committed, then
the consumer leaves the group at once (a static member, with a --replica-id, too) and is closed,
and the producer flushed. (A crashed replica never left: its restart takes its partitions back.)

Replaced: another process started with the same --replica-id fences this one (consumer and
producer). That is no failure: the open batch is not committed (its transaction was aborted by
the fence), resources close as usual, `run()` returns and the process exits 0. Unless the
brokers were out of reach within a session timeout of the fencing: then the group expired our
own session and librdkafka rejoined as a "newer" us (`consumer.edge.errors`), and the error
stands (exit 1) so that any restart policy brings the replica back.

Drift monitoring (`consumer.drift`, on unless --no-drift) is built from the settings: the group
subscribes to the labels topic too, and the drift observer evaluates after batches and when idle.

Liveness (`/healthz`, see `liveness_timeout`): the loop beats once per iteration, and one
iteration may hold a batch in delivery for a long but bounded time, since each transactional call
is watched (it returns, or the process exits `HANG_GRACE` s after its own timeout) and retried
at most `RETRIABLE_ATTEMPTS` times. /healthz fails only once even that worst case is over::

    idle allowance           30 s + 10 x batch_timeout       (settings.liveness_timeout)
  + producing the batch      TXN_TIMEOUT                      30 s
  + send_offsets, commit     2 x 3 attempts x (30 + 15) s     270 s
    and abort after them   + 1 x 3 attempts x (30 + 15) s     135 s
  + the retry backoff        BACKOFF_MAX                      10 s
                                                              = 477 s with the defaults

A call that hangs beyond its watchdog already ends the process (exit 1), so this slack only
delays the restart of a loop stuck *outside* Kafka calls; it never restarts a replica that is
waiting out a slow broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry

from common.heap import freeze_startup_heap
from consumer.drift import DriftObserver, build_drift_observer, check_copartitioned
from consumer.edge.clients import (
    build_admin,
    build_consumer,
    build_offsets_reader,
    build_producer,
    check_broker,
    leave_group,
    session_timeout_s,
)
from consumer.edge.delivery import (
    HANG_GRACE,
    RETRIABLE_ATTEMPTS,
    TXN_TIMEOUT,
    AtLeastOnceSink,
    ExactlyOnceSink,
)
from consumer.edge.errors import ClientErrors, replaced_by
from consumer.edge.lag import LagTracker
from consumer.exceptions import ConsumerError, ModelLoadError
from consumer.loop.consume import ConsumeLoop
from consumer.loop.flow import LabelFlow
from consumer.loop.processor import BatchProcessor
from consumer.loop.retry import BACKOFF_MAX
from consumer.loop.summary import RunSummary
from consumer.models.build import build_model_changes
from consumer.observers import BatchObserver, LabelHandler, call_safely
from consumer.ops.http import HealthState, MetricsServer
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.scoring import ModelLike, Scorer
from consumer.settings import ConsumerSettings
from consumer.testing.faults import FaultInjector

log = logging.getLogger(__name__)

# after an outage, how much longer than the session timeout a fencing still counts as self-inflicted
OUTAGE_MARGIN_S = 30.0


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
        self.health = HealthState(liveness_timeout(settings))
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.observers = list(observers)
        self.model = model
        self.drift: DriftObserver | None = None  # built in run() from the settings
        self.summary = RunSummary()
        self.server: MetricsServer | None = None
        self.started = threading.Event()  # set once the HTTP server listens
        self.errors = ClientErrors(self.metrics, logger=log)

    @property
    def metrics_port(self) -> int | None:
        return self.server.port if self.server is not None else None

    @property
    def label_handler(self) -> LabelHandler | None:
        return self.drift.labels if self.drift is not None else None

    def run(self) -> RunSummary:
        s = self.settings
        model = self.model if self.model is not None else load_model(
            s.model_path, expected_sha256=s.model_sha256,
            expected_loss_sha256=s.loss_model_sha256,
        )
        self.metrics.set_model(model.version, model.model_type, model.sha256)
        self.health.model_loaded = True
        self.drift = build_drift_observer(s, model, self.registry)
        with ExitStack() as stack:
            stack.push(self._replaced)  # first in, last out: sees the error once all is closed
            self.server = self._serve()
            stack.callback(self.server.stop)
            if self.drift is not None:
                drift = self.drift
                stack.callback(call_safely, drift.close, type(drift).__name__, self.metrics)
            stack.callback(self._stopping)  # also when a client below fails to start
            self.started.set()
            check_copartitioned(s, check_broker(s))
            consumer = build_consumer(s, error_cb=self.errors, on_commit=self.errors.on_commit)
            producer = build_producer(s, error_cb=self.errors)
            sink_cls = ExactlyOnceSink if s.exactly_once else AtLeastOnceSink
            fault = FaultInjector.from_spec(s.fault)  # None unless a chaos run sets CONSUMER_FAULT
            sink = sink_cls(producer, consumer, self.metrics, fault=fault)
            # registered only now (the consumer has not subscribed yet: it holds no partitions)
            # so that on exit the consumer closes first: it leaves the group at once and its
            # partitions move, then the producer is flushed
            stack.callback(sink.close)
            stack.callback(_close_consumer, consumer, leave=bool(s.replica_id))
            sink.start()
            lag = LagTracker(
                build_admin(s), s.group_id, self.metrics, s.lag_interval,
                offsets=build_offsets_reader(s),
            ).start()
            stack.callback(lag.stop)
            stack.callback(self._stopping)  # first of all on the way out: /readyz fails at once
            labels = self.label_handler
            changes = build_model_changes(s, model, self.registry, self.metrics, self.drift)
            shadow = [changes.shadow] if changes is not None else []
            processor = BatchProcessor(
                s, scorer=Scorer(model, s.scoring_threads), sink=sink, consumer=consumer,
                metrics=self.metrics, lag=lag, labels=labels,
                # the drift observer sees batches like any observer, after the others
                observers=[*self.observers, *shadow,
                           *([self.drift] if self.drift is not None else [])],
                models=changes.switch if changes is not None else None,
            )
            loop = ConsumeLoop(
                s, consumer=consumer, processor=processor, lag=lag, metrics=self.metrics,
                health=self.health, errors=self.errors, stop_event=self.stop_event,
                flow=LabelFlow(consumer, labels) if labels is not None else None,
                summary=self.summary,
            )
            self._subscribe(consumer, lag, before_revoke=loop.before_revoke)
            if changes is not None:
                changes.start()
                stack.callback(changes.close)
            log.info(
                "scoring %s -> %s (dlq %s) as group %s, %s, model %s",
                s.input_topic, s.output_topic, s.dlq_topic, s.group_id, s.guarantee, model.version,
            )
            self.metrics.up.set(1)
            freeze_startup_heap()  # what lives now lives as long as the process: see the module
            loop.run()
        log.info(
            "stopped: %d events (%d predictions, %d dead-lettered) in %d batches, %.1f s, "
            "%.0f events/s",
            self.summary.consumed, self.summary.predictions, self.summary.dead_lettered,
            self.summary.batches, self.summary.seconds, self.summary.events_per_second,
        )
        return self.summary

    def _replaced(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        """True (swallow the error: a clean stop) when a newer process with our replica id
        fenced this one; never without a replica id (a random one cannot be taken over)."""
        if not self.settings.replica_id or not isinstance(exc, Exception):
            return False
        cause = replaced_by(exc)
        if cause is None:
            return False
        window = session_timeout_s(self.settings) + OUTAGE_MARGIN_S
        if self.errors.outage_within(window):
            log.error(
                "fenced as replica %r within %.0f s of a broker outage (%s): the group expired "
                "this member's session while the brokers were out of reach and librdkafka "
                "rejoined under a new member id (librdkafka #3437), not a newer process; "
                "failing so that the supervisor restarts it", self.settings.replica_id, window,
                cause.str(),
            )
            return False
        log.warning(
            "replaced: another process started as replica %r and fenced this one (%s); "
            "stopped without committing anything more (the open batch was aborted)",
            self.settings.replica_id, cause.str(),
        )
        self.summary.replaced = True
        return True

    def _serve(self) -> MetricsServer:
        s = self.settings
        server = MetricsServer(
            self.registry, self.health, s.metrics_addr, s.metrics_port,
            max_connections=s.metrics_max_connections, request_timeout=s.metrics_request_timeout,
        )
        try:
            return server.start()
        except OSError as exc:
            raise ConsumerError(
                f"cannot serve metrics on {s.metrics_addr}:{s.metrics_port}: {exc} "
                "(--metrics-port / CONSUMER_METRICS_PORT; 0 picks a free port)"
            ) from exc

    def _stopping(self) -> None:
        self.health.stopping = True
        self.metrics.up.set(0)
        self.metrics.ready.set(0)

    def _subscribe(
        self, consumer: Consumer, lag: LagTracker, *, before_revoke: Callable[[], None]
    ) -> None:
        def on_assign(_: Consumer, partitions: list[TopicPartition]) -> None:
            log.info("assigned %s", _fmt(partitions))
            lag.on_assign(partitions)

        def on_revoke(_: Consumer, partitions: list[TopicPartition]) -> None:
            # Nothing pending once the write in flight has returned (see consumer.loop.consume):
            # only per-partition state to drop.
            before_revoke()
            log.info("revoked %s", _fmt(partitions))
            lag.on_revoke(partitions)

        def on_lost(_: Consumer, partitions: list[TopicPartition]) -> None:
            before_revoke()
            log.warning("lost %s (session expired): another member re-reads them", _fmt(partitions))
            lag.on_revoke(partitions)

        topics = [self.settings.input_topic]
        labels = self.label_handler
        if labels is not None:
            topics.append(labels.labels_topic)  # co-partitioned: see consumer.drift
        consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        self.health.subscribed = True


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


def liveness_timeout(settings: ConsumerSettings) -> float:
    """Seconds without a loop iteration before /healthz fails: the idle allowance plus the
    longest a batch can spend in delivery (see the module docstring)."""
    watched_call = RETRIABLE_ATTEMPTS * (TXN_TIMEOUT + HANG_GRACE)  # one call and its retries
    # send_offsets_to_transaction, commit_transaction, then abort_transaction after a failure
    delivery = TXN_TIMEOUT + 3 * watched_call
    return settings.liveness_timeout + delivery + BACKOFF_MAX


def load_model(
    path: Any, *, expected_sha256: str | None = None, expected_loss_sha256: str | None = None
) -> ModelLike:
    """The verified model at `path`: an artifact directory, or a registry root (its champion,
    each file pinned by the hash recorded at its registration as well as any pin given)."""
    from model.artifact import load_artifact
    from model.exceptions import ModelError
    from model.registry import ModelRegistry, is_registry, resolve_artifact_dir

    try:
        if is_registry(Path(path)) and expected_sha256 is None:
            registry = ModelRegistry(Path(path))
            version = resolve_artifact_dir(Path(path)).name  # raises when there is no champion
            log.info("model registry %s: serving its champion %s", path, version)
            return registry.load(version)
        return load_artifact(resolve_artifact_dir(Path(path)), expected_sha256=expected_sha256,
                             expected_loss_sha256=expected_loss_sha256)
    except ModelError as exc:
        raise ModelLoadError(f"cannot load the model from {path}: {exc}") from exc
    except Exception as exc:  # unpickling a broken file can raise nearly anything
        raise ModelLoadError(
            f"cannot load the model from {path}: {type(exc).__name__}: {exc}"
        ) from exc


def _close_consumer(consumer: Consumer, *, leave: bool = False) -> None:
    if leave:
        # a static member (--replica-id) does not leave on close(): a stop on purpose hands its
        # partitions over now (after a crash its restart takes them back)
        try:
            leave_group(consumer)
        except (KafkaException, RuntimeError) as exc:
            log.warning("leaving the group failed (partitions move at session timeout): %s", exc)
    try:
        consumer.close()  # a dynamic member leaves the group now: partitions move at once
    except (KafkaException, RuntimeError) as exc:
        log.warning("closing the consumer failed: %s", exc)


def _fmt(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
