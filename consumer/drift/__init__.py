"""Live drift monitoring inside the scoring consumer: data drift on every scored event, concept
drift on late labels joined to their predictions, Prometheus gauges and drift-report records.

::

    committed batch --> DriftObserver.on_batch --> DriftMonitor.update (features + prediction)
                                               └-> LabelJoin cache (event_id -> prediction)
    labels topic ----> DriftObserver.on_labels --> LabelJoin --matched--> ConceptDriftMonitor
    every eval_interval s or eval_every events --> evaluate --> gauges + report record (Kafka)

The labels topic is subscribed by the same consumer group as the input topic: with librdkafka's
default range assignor, topics with equal partition counts are co-partitioned (the member that
owns input partition p owns labels partition p), so each label reaches the instance that scored
its event. Label offsets are committed with the batch (the same transaction in exactly-once).
"""

from consumer.drift.build import build_drift_observer, instance_id
from consumer.drift.join import LabelCounts, LabelJoin
from consumer.drift.labels import (
    InvalidLabel,
    Label,
    LabelColumns,
    decode_label,
    decode_labels,
)
from consumer.drift.metrics import DriftMetrics
from consumer.drift.observer import DriftObserver
from consumer.drift.reports import ReportPublisher, report_record

__all__ = [
    "DriftMetrics",
    "DriftObserver",
    "InvalidLabel",
    "Label",
    "LabelColumns",
    "LabelCounts",
    "LabelJoin",
    "ReportPublisher",
    "build_drift_observer",
    "decode_label",
    "decode_labels",
    "instance_id",
    "report_record",
]
