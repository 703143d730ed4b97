"""Build the drift observer (and its label feed) of a service from its settings and the model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from common.kafka import client_config
from consumer.drift.evaluator import Evaluator, ReportSource
from consumer.drift.feed import ConceptFeed, DataFeed, EstimateFeed
from consumer.drift.join import LabelJoin
from consumer.drift.label_feed import LabelFeed
from consumer.drift.labels import max_label_price
from consumer.drift.metrics import DriftMetrics
from consumer.drift.observer import DriftObserver
from consumer.drift.reports import ReportPublisher
from consumer.drift.schedule import EvaluationSchedule
from consumer.edge.clients import instance_id, kafka_log
from consumer.settings import ConsumerSettings
from drift import (
    PerformanceEstimator,
    ProfileError,
    ReferenceProfile,
    SequentialConcept,
    SequentialMonitor,
)

log = logging.getLogger(__name__)


def report_producer_config(settings: ConsumerSettings, instance: str) -> dict[str, Any]:
    base = {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "client.id": f"diamond-drift-reports-{instance}",
        "logger": kafka_log,
    }
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def build_detectors(
    settings: ConsumerSettings, profile: ReferenceProfile, *, concept: bool = True
) -> tuple[SequentialMonitor, SequentialConcept | None]:
    """The sequential detectors of `profile` at the settings' ERTs; no concept detector when
    not asked for, or when the profile has no error bins (format 1: logged)."""
    gamma, clear, tolerance = (
        settings.drift_gamma, settings.drift_clear_gamma, settings.drift_tolerance
    )
    monitor = SequentialMonitor(profile, gamma=gamma, clear_gamma=clear, tolerance=tolerance)
    if not concept:
        return monitor, None
    try:
        return monitor, SequentialConcept(
            profile, gamma=gamma, clear_gamma=clear, tolerance=tolerance
        )
    except ProfileError as exc:
        log.warning("concept drift is off (labels are still counted): %s", exc)
        return monitor, None


def build_estimator(settings: ConsumerSettings, model: Any) -> PerformanceEstimator | None:
    """The label-free estimator of the model's loss model, or None (an artifact without one,
    or a reference it cannot use: logged)."""
    estimation = getattr(model, "estimation", None)
    if estimation is None:
        log.info("model %s has no loss model: performance estimation is off",
                 getattr(model, "version", "?"))
        return None
    try:
        return PerformanceEstimator(
            estimation.reference, estimation.loss_model, gamma=settings.drift_gamma,
            clear_gamma=settings.drift_clear_gamma,
        )
    except ProfileError as exc:
        log.warning("performance estimation is off: %s", exc)
        return None


def new_label_join(settings: ConsumerSettings) -> LabelJoin:
    """A label join with the settings' bounds (the service's, and the challenger's shadow)."""
    return LabelJoin(
        cache_size=settings.label_cache_size, ttl=settings.label_cache_ttl,
        pending_size=settings.label_pending_size, pending_wait=settings.label_pending_wait,
    )


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
    with_labels = bool(settings.label_join)
    monitor, concept = build_detectors(settings, profile, concept=with_labels)
    metrics = DriftMetrics(registry, profile.features)
    data_feed = DataFeed(
        monitor, on_transition=metrics.count_transition,
        coalesce_events=settings.drift_coalesce_events,
        coalesce_seconds=settings.drift_coalesce_seconds,
    )
    estimator = build_estimator(settings, model)
    estimate_feed = None if estimator is None else EstimateFeed(
        estimator, on_transition=metrics.count_transition
    )
    concept_feed = join = None
    if with_labels:
        join = new_label_join(settings)
        if concept is not None:
            concept_feed = ConceptFeed(concept, on_transition=metrics.count_transition)
    instance = instance_id(settings)
    publisher = None
    if settings.drift_reports_topic:
        publisher = ReportPublisher(
            report_producer_config(settings, instance), settings.drift_reports_topic, instance,
            metrics.report_failures.inc,
        )
    labels_topic = settings.labels_topic if join is not None else None
    log.info(
        "drift monitoring: sequential flags, ERT %.3g events per flag (clear %.3g, tolerance "
        "%g), reported every %g s or %d events and at each change; labels %s; reports to %s",
        settings.drift_gamma, settings.drift_clear_gamma, settings.drift_tolerance,
        settings.drift_eval_interval, settings.drift_eval_every, labels_topic or "off",
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
            concept=concept_feed, on_received=schedule.add_labels,
            max_price=max_label_price(model, settings.label_price_factor),
        )
    source = ReportSource(
        model_version=str(getattr(model, "version", "")), group_id=settings.group_id,
        instance=instance,
    )
    evaluator = Evaluator(
        data_feed, metrics, concept=concept_feed, estimate=estimate_feed, publisher=publisher,
        source=source,
    )
    return DriftObserver(
        data_feed, evaluator, schedule, labels=labels, concept=concept_feed,
        estimate=estimate_feed,
        rebuild=lambda p: build_detectors(settings, p, concept=with_labels),
    )


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
