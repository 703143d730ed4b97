"""Build the drift observer (and its label feed) of a service from its settings and the model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from common.kafka import client_config
from consumer.drift.evaluator import Evaluator, ReportSource
from consumer.drift.feed import DataFeed
from consumer.drift.join import LabelJoin
from consumer.drift.label_feed import LabelFeed
from consumer.drift.labels import max_label_price
from consumer.drift.metrics import DriftMetrics
from consumer.drift.observer import DriftObserver
from consumer.drift.reports import ReportPublisher
from consumer.drift.schedule import EvaluationSchedule
from consumer.edge.clients import instance_id, kafka_log
from consumer.settings import ConsumerSettings
from drift import ConceptDriftMonitor, DriftMonitor, ProfileError, ReferenceProfile

log = logging.getLogger(__name__)

CONCEPT_MIN_WINDOW = 100


def report_producer_config(settings: ConsumerSettings, instance: str) -> dict[str, Any]:
    base = {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "client.id": f"diamond-drift-reports-{instance}",
        "logger": kafka_log,
    }
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def build_drift_observer(
    settings: ConsumerSettings, model: Any, registry: CollectorRegistry
) -> DriftObserver | None:
    """The observer `settings` asks for, or None (drift off, or a model without a profile)."""
    if not settings.drift_enabled:
        return None
    profile = getattr(model, "profile", None)
    if not isinstance(profile, ReferenceProfile):
        log.warning("model %s has no reference profile: drift monitoring is off",
                    getattr(model, "version", "?"))
        return None
    monitor = DriftMonitor(
        profile, window_size=settings.drift_window_size, p_value_threshold=settings.drift_p_value
    )
    metrics = DriftMetrics(registry, profile.features)
    concept = join = None
    if settings.label_join:
        join = LabelJoin(
            cache_size=settings.label_cache_size, ttl=settings.label_cache_ttl,
            pending_size=settings.label_pending_size, pending_wait=settings.label_pending_wait,
        )
        try:
            concept = ConceptDriftMonitor(
                profile, window_size=settings.concept_window_size,
                ratio_threshold=settings.concept_ratio_threshold,
                min_window=min(CONCEPT_MIN_WINDOW, settings.concept_window_size),
            )
        except ProfileError as exc:
            log.warning("concept drift is off (labels are still counted): %s", exc)
    instance = instance_id(settings)
    publisher = None
    if settings.drift_reports_topic:
        publisher = ReportPublisher(
            report_producer_config(settings, instance), settings.drift_reports_topic, instance,
            metrics.report_failures.inc,
        )
    labels_topic = settings.labels_topic if join is not None else None
    log.info(
        "drift monitoring: window %d rows, evaluated every %g s or %d events; labels %s; "
        "reports to %s", monitor.window_size, settings.drift_eval_interval,
        settings.drift_eval_every, labels_topic or "off",
        settings.drift_reports_topic or "nowhere",
    )
    schedule = EvaluationSchedule(
        eval_interval=settings.drift_eval_interval, eval_every=settings.drift_eval_every,
        max_share=settings.drift_eval_max_share,
    )
    labels = None
    if join is not None:
        labels = LabelFeed(
            join, metrics, labels_topic=settings.labels_topic, headroom=settings.batch_size,
            concept=concept, on_received=schedule.add_labels,
            max_price=max_label_price(model, settings.label_price_factor),
        )
    source = ReportSource(
        model_version=str(getattr(model, "version", "")), group_id=settings.group_id,
        instance=instance,
    )
    evaluator = Evaluator(monitor, metrics, concept=concept, publisher=publisher, source=source)
    return DriftObserver(DataFeed(monitor, metrics), evaluator, schedule, labels=labels)


def check_copartitioned(settings: ConsumerSettings, partitions: Mapping[str, int]) -> None:
    """Warn when the labels topic and the input topic differ in partition count: the range
    assignor then no longer gives a label's partition to the instance that scored its event."""
    if not settings.label_join:
        return
    n_input = partitions.get(settings.input_topic)
    n_labels = partitions.get(settings.labels_topic)
    if n_input is not None and n_labels is not None and n_input != n_labels:
        log.warning(
            "%s has %d partitions but %s has %d: with several instances most labels will not "
            "reach the instance that scored their event (counted as unmatched)",
            settings.input_topic, n_input, settings.labels_topic, n_labels,
        )
