"""The scoring service: a Kafka consumer that prices diamonds and publishes predictions.

    events topic --consume--> decode/validate --> score (one predict per batch) --> predictions
                                     └── invalid --> dead-letter topic (reason headers)

    labels topic -----> label join ──> concept drift     scored batches ──> data drift
                                 └── gauges on /metrics + a report record per evaluation

Exactly-once (default: one transaction per micro-batch) or at-least-once delivery, Prometheus
metrics with /healthz and /readyz, lag per partition, batch observers, and drift monitoring with
the late-label join (`consumer.monitoring`, on by default, --no-drift turns it off).
"""

from consumer.pipeline.batch import BatchMeta
from consumer.exceptions import (
    BrokerUnavailableError,
    ConsumerError,
    DeliveryError,
    FatalKafkaError,
    KafkaConfigError,
    ModelLoadError,
    ScoringError,
)
from consumer.ops.metrics import ConsumerMetrics
from consumer.observers import BatchObserver, StreamMonitor
from consumer.app import RunSummary, ScoringService, run_consumer
from consumer.settings import ConsumerSettings

__all__ = [
    "BatchMeta",
    "BatchObserver",
    "BrokerUnavailableError",
    "ConsumerError",
    "ConsumerMetrics",
    "ConsumerSettings",
    "DeliveryError",
    "FatalKafkaError",
    "KafkaConfigError",
    "ModelLoadError",
    "RunSummary",
    "ScoringError",
    "ScoringService",
    "StreamMonitor",
    "run_consumer",
]
