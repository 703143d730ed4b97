"""The scoring service: a Kafka consumer that prices diamonds and publishes predictions.

    events topic --consume--> decode/validate --> score (one predict per batch) --> predictions
                                     └── invalid --> dead-letter topic (reason headers)

    labels topic -----> label join ──> concept drift     scored batches ──> data drift
                                 └── gauges on /metrics + a report record per evaluation

Exactly-once (default: one transaction per micro-batch) or at-least-once delivery, Prometheus
metrics with /healthz and /readyz, lag per partition, batch observers, and drift monitoring with
the late-label join (`consumer.drift`, on by default, --no-drift turns it off).

The layers, top-down (each only calls the ones below it)::

    app.py        ScoringService: lifecycle (model, server, clients, sink, lag, loop), ExitStack
    loop/         the consume loop: batching, retry policy, budget, label flow control
    pipeline/     PURE: transform(messages) -> BatchOutcome (decode, validate, score, records)
    edge/         Kafka: clients, delivery (sinks), offsets, lag tracking, client errors
    ops/          HTTP server (/metrics, /healthz, /readyz), ConsumerMetrics, rate-limited logs
    observers.py  the seam: BatchObserver, LabelHandler (should_pause), Scheduled, call_safely
    drift/        drift monitoring behind that seam (observer, label feed, schedule, evaluator)
    testing/      fault injection for the chaos runs (settings.fault / CONSUMER_FAULT)
"""

from consumer.app import ScoringService, run_consumer
from consumer.exceptions import (
    BrokerUnavailableError,
    ConsumerError,
    DeliveryError,
    FatalKafkaError,
    KafkaConfigError,
    ModelLoadError,
    ScoringError,
)
from consumer.loop.summary import RunSummary
from consumer.observers import BatchObserver, LabelHandler, Scheduled
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline import BatchMeta, BatchOutcome, PipelineConfig, transform
from consumer.settings import ConsumerSettings

__all__ = [
    "BatchMeta",
    "BatchObserver",
    "BatchOutcome",
    "BrokerUnavailableError",
    "ConsumerError",
    "ConsumerMetrics",
    "ConsumerSettings",
    "DeliveryError",
    "FatalKafkaError",
    "KafkaConfigError",
    "LabelHandler",
    "ModelLoadError",
    "PipelineConfig",
    "RunSummary",
    "Scheduled",
    "ScoringError",
    "ScoringService",
    "run_consumer",
    "transform",
]
