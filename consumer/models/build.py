"""Build the model-change machinery of a service (`ModelChanges`) from its settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from common.kafka import client_config
from consumer.drift import DriftObserver, build_detectors, build_estimator, new_label_join
from consumer.drift.observer import Detectors
from consumer.edge.clients import build_models_reader, instance_id, kafka_log
from consumer.models.follower import ModelFollower
from consumer.models.metrics import ModelMetrics
from consumer.models.shadow import ModelComparison, ShadowScoring
from consumer.models.slot import ModelSlot, Offer
from consumer.models.switch import ModelSwitch
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.scoring import Scorer
from consumer.settings import ConsumerSettings
from drift import PerformanceEstimator, ReferenceProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A loaded model's scorer and, for a champion, its drift detectors and estimator."""

    scorer: Scorer
    detectors: Detectors | None = None
    estimator: PerformanceEstimator | None = None


@dataclass
class ModelChanges:
    """What the service runs to follow the models topic; `start` after subscribing, `close` on
    the way out."""

    follower: ModelFollower
    switch: ModelSwitch
    shadow: ShadowScoring

    def start(self) -> None:
        self.follower.start()

    def close(self) -> None:
        self.follower.stop()
        self.shadow.close()


def shadow_producer_config(settings: ConsumerSettings) -> dict[str, Any]:
    base = {
        "enable.idempotence": True, "acks": "all", "linger.ms": 20,
        "client.id": f"diamond-shadow-{instance_id(settings)}", "logger": kafka_log,
    }
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def build_model_changes(
    settings: ConsumerSettings,
    model: Any,
    registry: CollectorRegistry,
    service_metrics: ConsumerMetrics,
    drift: DriftObserver | None,
) -> ModelChanges | None:
    """None when the service serves its startup model only (no models topic, or a pin)."""
    s = settings
    if not s.models_topic:
        return None
    if s.model_sha256 is not None:
        log.info("--model-sha256 pins the model: announcements on %s are not followed",
                 s.models_topic)
        return None
    metrics = ModelMetrics(registry)
    comparison = None
    if drift is not None and drift.labels is not None:
        comparison = ModelComparison(metrics, window=s.model_window,
                                     new_join=lambda: new_label_join(s))
        drift.labels.comparison = comparison
    producer = Producer(shadow_producer_config(s)) if s.shadow_topic else None
    shadow = ShadowScoring(metrics, comparison, producer=producer, topic=s.shadow_topic)

    def prepare(alias: str, new: Any) -> Prepared:
        """In the follower's thread: everything a swap needs that takes time."""
        scorer = Scorer(new, s.scoring_threads)
        profile = getattr(new, "profile", None)
        if alias != "champion" or drift is None or not isinstance(profile, ReferenceProfile):
            return Prepared(scorer)
        detectors = build_detectors(s, profile, concept=s.label_join)
        return Prepared(scorer, detectors, build_estimator(s, new))

    def on_champion(offer: Offer) -> None:
        new, prepared = offer.model, offer.prepared
        service_metrics.set_model(new.version, new.model_type, new.sha256)
        if drift is not None:
            if isinstance(prepared, Prepared) and prepared.detectors is not None:
                drift.reset(new.profile, model_version=new.version,
                            estimator=prepared.estimator, detectors=prepared.detectors)
            else:  # no reference profile of its own: the current one, restarted
                drift.reset(None, model_version=new.version, estimator=build_estimator(s, new))

    slot = ModelSlot()
    switch = ModelSwitch(
        slot, metrics, new_scorer=lambda m: Scorer(m, s.scoring_threads),
        on_champion=on_champion, shadow=shadow, comparison=comparison,
    )
    follower = ModelFollower(
        consumer=build_models_reader(s), topic=s.models_topic, slot=slot, metrics=metrics,
        champion=getattr(model, "sha256", None), prepare=prepare,
    )
    return ModelChanges(follower, switch, shadow)
