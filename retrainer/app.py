"""`RetrainerService`: the join, the triggers, the trainings and the promotion, one loop.

::

    events + labels --consume--> JoinWindow (bounded) --rows--> TrainingWorker (thread)
    drift reports ----> drift_triggers --> TrainingGate      └── registered version
    schedule, SIGUSR1 ---------------------------^               │ beats champion on the
                                                                 v held-out slice
    live labels --> champion & challenger predict --> LiveComparison --> decide
                                                  promote / withdraw: registry + models topic

The loop thread owns every piece of state; only the training runs in another thread, so the
join keeps up while a model is fitted. Offsets are committed automatically (the window is
rebuilt from new records after a restart: it is a cache of recent rows, not a ledger).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from contextlib import ExitStack
from typing import Any

import numpy as np
import pandas as pd
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient
from prometheus_client import CollectorRegistry

from common.contracts.events import MAX_EVENT_BYTES
from common.contracts.labels import InvalidLabel, decode_label
from common.contracts.models import (
    MODELS_TOPIC_CONFIG,
    Announcement,
    Withdrawal,
    decode_announcement,
)
from common.kafka import client_config, cluster_metadata, create_topics, read_to_end
from consumer.ops.http import HealthState, MetricsServer
from consumer.pipeline.decode import Rejected, decode_event
from consumer.pipeline.scoring import ThreadCap
from model.announce import announcement, announcement_record, publish
from model.artifact import ModelArtifact
from model.features import FEATURES
from model.registry import ModelRegistry
from retrainer.exceptions import ChampionUnavailableError
from retrainer.metrics import RetrainerMetrics
from retrainer.promotion import Decision, LiveComparison, PromotionRule, decide
from retrainer.settings import RetrainerSettings
from retrainer.training import TrainingPolicy
from retrainer.triggers import InvalidReport, TrainingGate, Trigger, drift_triggers
from retrainer.window import JoinWindow, LabelledRow
from retrainer.worker import TrainingDone, TrainingFailed, TrainingWorker

log = logging.getLogger(__name__)

BATCH = 1000  # records per consume() call


class RetrainerService:
    """See the module docstring. `run()` blocks until `stop_event` is set."""

    def __init__(
        self, settings: RetrainerSettings, *, registry: CollectorRegistry,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.stop_event = stop_event or threading.Event()
        self.metrics = RetrainerMetrics(registry)
        self.health = HealthState(settings.liveness_timeout)
        self.server = MetricsServer(registry, self.health, settings.metrics_addr,
                                    settings.metrics_port)
        self.registry = ModelRegistry(settings.registry_dir)
        self.window = JoinWindow(
            max_pending=settings.max_pending_events, max_pending_age_s=settings.max_pending_age_s,
            max_rows=settings.max_rows, max_row_age_s=settings.max_row_age_s,
            on_evict=self.metrics.evicted,
        )
        self.gate = TrainingGate(min_rows=settings.min_rows, min_gap_s=settings.min_gap_s,
                                 interval_s=settings.retrain_interval_s)
        self.rule = PromotionRule(min_labels=settings.min_labels, margin=settings.margin,
                                  alpha=settings.alpha, timeout_s=settings.challenger_timeout_s)
        self.worker = TrainingWorker(self.registry, TrainingPolicy(
            holdout_fraction=settings.holdout_fraction,
            reference_fraction=settings.reference_fraction, model_type=settings.model,
            drift_window_size=settings.drift_window_size, seed=settings.seed,
        ))
        self.champion: tuple[str, ModelArtifact] | None = None
        self.challenger: tuple[str, ModelArtifact] | None = None
        self.comparison: LiveComparison | None = None
        self._challenger_since = 0.0
        self._requests: queue.Queue[Trigger] = queue.Queue()
        self._last_wait: tuple[str, Trigger] | None = None
        self._producer: Any = None

    # -- public ------------------------------------------------------------------------------
    def request_training(self, why: str = "requested by hand") -> None:
        """Ask for a training (thread-safe: the signal handler calls it)."""
        self._requests.put(Trigger.on_demand(why))

    def run(self) -> None:
        s = self.settings
        kafka = client_config(s.bootstrap_servers, {}, s.kafka_config)
        with ExitStack() as stack:
            # The OpenMP/BLAS pools are process-wide: capped for the whole run, the training
            # thread and the loop's predicts included. Uncapped on a busy host, a small fit was
            # 10x slower (1.7 s at one thread, 22 s not, on 2 shared cores).
            stack.enter_context(ThreadCap(s.training_threads)())
            stack.enter_context(self.server)
            self._load_aliases()
            self._prepare_models_topic(kafka)
            self._producer = Producer({**kafka, "enable.idempotence": True})
            stack.callback(self._producer.flush, 10)
            consumer = Consumer({
                **kafka, "group.id": s.group_id, "auto.offset.reset": s.auto_offset_reset,
                "enable.auto.commit": True, "isolation.level": "read_committed",
            })
            stack.callback(consumer.close)
            consumer.subscribe([s.events_topic, s.labels_topic, s.drift_reports_topic])
            self.health.subscribed = True
            self._sync_announcements()
            stack.callback(self.worker.join, 5)
            while not self.stop_event.is_set():
                self.step(consumer)
            self.health.stopping = True

    @property
    def port(self) -> int:
        return self.server.port

    # -- startup -----------------------------------------------------------------------------
    def _load_aliases(self) -> None:
        version = self.registry.alias("champion")
        if version is None:
            raise ChampionUnavailableError(
                f"the registry at {self.registry.root} has no champion: run `make train` "
                "(or `python -m model train --registry-dir ...`) first"
            )
        self.champion = (version, self.registry.load(version))
        self.health.model_loaded = True
        challenger = self.registry.alias("challenger")
        if challenger is not None:  # a restart: the comparison starts again from live labels
            self._start_contest(challenger, self.registry.load(challenger))

    def _prepare_models_topic(self, kafka: dict[str, Any]) -> None:
        admin = AdminClient(dict(kafka))
        cluster_metadata(admin, bootstrap_servers=self.settings.bootstrap_servers,
                         timeout=self.settings.broker_timeout)
        if self.settings.create_topics:
            create_topics(admin, [self.settings.models_topic], partitions=1,
                          config=MODELS_TOPIC_CONFIG, timeout=self.settings.broker_timeout,
                          origins={self.settings.models_topic: "--models-topic"})

    def _sync_announcements(self) -> None:
        """Announce what the registry holds where the topic says otherwise."""
        latest: dict[str, Announcement | None] = {}
        for msg in read_to_end(self.settings.bootstrap_servers, self.settings.models_topic,
                               timeout=self.settings.broker_timeout * 3,
                               config=self._passthrough()):
            decoded = decode_announcement(msg.key(), msg.value())
            if isinstance(decoded, Announcement):
                latest[decoded.alias] = decoded
            elif isinstance(decoded, Withdrawal):
                latest[decoded.alias] = None
        for alias in ("champion", "challenger"):
            version = self.registry.alias(alias)
            seen = latest.get(alias)
            if version is None and seen is None:
                continue
            if seen is not None and version == seen.version and \
                    self.registry.show(version).sha256 == seen.sha256:
                continue
            self._announce(alias, "registry differs from the models topic at startup")
            if alias == "champion":
                self.metrics.decisions.labels(decision="announced_champion").inc()

    def _passthrough(self) -> dict[str, str]:
        return {k: v.get_secret_value() for k, v in self.settings.kafka_config.items()}

    # -- the loop ----------------------------------------------------------------------------
    def step(self, consumer: Any) -> None:
        """One loop iteration: poll, join, compare, collect trainings, decide."""
        messages = consumer.consume(num_messages=BATCH, timeout=self.settings.poll_timeout)
        unmatched = self.window.unmatched
        self.health.beat()
        self.health.first_poll_done = True
        joined: list[LabelledRow] = []
        for msg in messages:
            self._handle(msg, joined)
        self.window.expire()
        if self.comparison is not None:
            self._compare(joined)  # also with no new label: a challenger can time out
        for outcome in self.worker.results():
            self._finish_training(outcome)
        self._offer_triggers()
        self._run_gate()
        self.metrics.window_rows.set(len(self.window))
        self.metrics.pending_events.set(self.window.pending)
        self.metrics.waiting_labels.set(self.window.waiting_labels)
        self.metrics.unmatched_labels.inc(self.window.unmatched - unmatched)

    def _handle(self, msg: Any, joined: list[LabelledRow]) -> None:
        err = msg.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                log.warning("consume error on %s[%s]: %s", msg.topic(), msg.partition(), err)
            return
        topic, value = msg.topic(), msg.value()
        s = self.settings
        if topic == s.events_topic:
            event = decode_event(value, MAX_EVENT_BYTES)
            if isinstance(event, Rejected):
                self._invalid("event", msg, event.error)
            elif (row := self.window.add_event(event)) is not None:
                joined.append(row)
        elif topic == s.labels_topic:
            label = decode_label(value)
            if isinstance(label, InvalidLabel):
                self._invalid("label", msg, label.error)
            elif (row := self.window.add_label(label)) is not None:
                joined.append(row)
        elif topic == s.drift_reports_topic:
            found = drift_triggers(value, now_ms=time.time_ns() // 1_000_000,
                                   max_age_ms=int(s.trigger_max_age_s * 1000))
            if isinstance(found, InvalidReport):
                self._invalid("drift_report", msg, found.error)
                return
            for trigger in found:
                log.info("trigger: %s", trigger.reason)
                self.metrics.triggers.labels(kind=trigger.kind).inc()
                self.gate.offer(trigger)

    def _invalid(self, kind: str, msg: Any, error: str) -> None:
        self.metrics.invalid_records.labels(kind=kind).inc()
        log.debug("skipped an invalid %s at %s[%s]@%s: %s", kind, msg.topic(), msg.partition(),
                  msg.offset(), error)

    def _offer_triggers(self) -> None:
        found = []
        if (scheduled := self.gate.scheduled()) is not None:
            found.append(scheduled)
        while True:
            try:
                found.append(self._requests.get_nowait())
            except queue.Empty:
                break
        for trigger in found:
            log.info("trigger: %s (%s)", trigger.kind, trigger.reason)
            self.metrics.triggers.labels(kind=trigger.kind).inc()
            self.gate.offer(trigger)

    def _run_gate(self) -> None:
        polled = self.gate.poll(rows=len(self.window), training=self.worker.busy,
                                challenger=self.challenger is not None)
        if polled is None:
            return
        decision, trigger = polled
        if polled != self._last_wait:  # a waiting trigger is logged and counted once per state
            self.metrics.decisions.labels(decision=f"trigger_{decision}").inc()
            log.info("decision trigger_%s: %s (%d labelled rows, need %d)", decision,
                     trigger.reason, len(self.window), self.settings.min_rows)
        self._last_wait = polled if decision in ("not_enough_rows", "too_soon") else None
        if decision == "start" and self.champion is not None:
            version, artifact = self.champion
            self.worker.start(trigger, self.window.rows(), artifact, version)

    # -- outcomes ----------------------------------------------------------------------------
    def _finish_training(self, outcome: TrainingDone | TrainingFailed) -> None:
        self.metrics.last_training_seconds.set(outcome.seconds)
        if isinstance(outcome, TrainingFailed):
            self.metrics.trainings.labels(outcome="failed").inc()
            self._decided("training_failed", outcome.error)
            return
        result = outcome.result
        self.metrics.holdout_mae.labels(model="candidate").set(result.candidate_mae)
        self.metrics.holdout_mae.labels(model="champion").set(result.champion_mae)
        scores = (f"{outcome.version}: held-out MAE {result.candidate_mae:.1f} vs champion "
                  f"{result.champion_mae:.1f} on {result.n_holdout} newest rows "
                  f"({result.n_recent} recent + {result.n_reference} reference trained on)")
        if not result.candidate_mae < result.champion_mae:
            self.metrics.trainings.labels(outcome="rejected").inc()
            self._decided("candidate_rejected", f"{scores}: not better, not a challenger")
            return
        self.metrics.trainings.labels(outcome="challenger").inc()
        reason = f"challenger {scores}"
        self.registry.set_alias("challenger", outcome.version, reason)
        self._announce("challenger", reason)
        self._start_contest(outcome.version, outcome.artifact)
        log.info("decision challenger: %s", reason)

    def _start_contest(self, version: str, artifact: ModelArtifact) -> None:
        self.challenger = (version, artifact)
        self.comparison = LiveComparison(window=self.settings.live_window)
        self._challenger_since = time.monotonic()

    def _compare(self, rows: list[LabelledRow]) -> None:
        assert self.champion is not None and self.challenger is not None
        assert self.comparison is not None
        if rows:
            frame = pd.DataFrame.from_records([r.features for r in rows],
                                              columns=list(FEATURES))
            self.comparison.add(np.array([r.price for r in rows]),
                                self.champion[1].pipeline.predict(frame),
                                self.challenger[1].pipeline.predict(frame))
            champion_mae, challenger_mae = self.comparison.maes()
            self.metrics.live_mae.labels(model="champion").set(champion_mae)
            self.metrics.live_mae.labels(model="challenger").set(challenger_mae)
            self.metrics.live_labels.set(len(self.comparison))
        decision = decide(self.comparison, self.rule,
                          elapsed_s=time.monotonic() - self._challenger_since)
        if decision.kind != "wait":
            self._conclude(decision)

    def _conclude(self, decision: Decision) -> None:
        assert self.challenger is not None
        version, artifact = self.challenger
        if decision.kind == "promote":
            reason = f"promoted {version}: {decision.reason}"
            for change in self.registry.promote(version, reason):
                log.info("registry %s", change.describe())
            self.champion = (version, artifact)
            self._announce("champion", reason)
            self.metrics.promotions.inc()
            self._decided("promoted", reason)
        else:
            reason = f"withdrew {version}: {decision.reason}"
            self.registry.set_alias("challenger", None, reason)
            self._decided("withdrawn", reason)
        self._announce("challenger", reason)  # unset in both cases: a tombstone
        self.challenger = None
        self.comparison = None
        self.metrics.live_labels.set(0)

    def _decided(self, kind: str, reason: str) -> None:
        self.metrics.decisions.labels(decision=kind).inc()
        log.info("decision %s: %s", kind, reason)

    def _announce(self, alias: str, reason: str) -> None:
        announced = announcement(self.registry, alias, reason)
        publish(self._producer, [announcement_record(self.settings.models_topic, alias,
                                                     announced)])
        log.info("announced %s on %s: %s", alias, self.settings.models_topic,
                 "a tombstone" if announced is None else
                 f"{announced.version} sha256 {announced.sha256} at {announced.location}")
