"""Live drift monitoring inside the scoring consumer, built on the pure `drift` detectors: data
drift on every scored event, concept drift on late labels joined to their predictions,
Prometheus gauges and drift-report records.

::

    committed batch --> DriftObserver.on_batch --> DataFeed --> SequentialMonitor.update
                                               ├-> EstimateFeed --> PerformanceEstimator.update
                                               └-> LabelFeed.add_predictions --> LabelJoin cache
    labels topic ----> LabelFeed.on_labels --> LabelJoin --matched--> ConceptFeed
                                                                 --> SequentialConcept.update
    a flag changed, or EvaluationSchedule.due() (eval_interval s or eval_every events)
                     --> Evaluator.evaluate --> DriftMetrics gauges + report record (Kafka)

The labels topic is subscribed by the same consumer group as the input topic: with librdkafka's
default range assignor, topics with equal partition counts are co-partitioned (the member that
owns input partition p owns labels partition p), so each label reaches the instance that scored
its event. Label offsets are committed with the batch (the same transaction in exactly-once).

Modules: observer.py (the batch observer), feed.py (the detectors' feeds, timed transitions),
label_feed.py (the label handler: decode, join, flow control), join.py (the bounded join),
labels.py (the label format), schedule.py (when to report), evaluator.py (one report),
metrics.py (the series), reports.py (the report record and its producer), build.py (from the
settings).
"""

from consumer.drift.build import (
    build_detectors,
    build_drift_observer,
    build_estimator,
    check_copartitioned,
    new_label_join,
)
from consumer.drift.evaluator import Evaluator, ReportSource
from consumer.drift.feed import ConceptFeed, DataFeed, EstimateFeed, TransitionTimes
from consumer.drift.join import LabelCounts, LabelJoin
from consumer.drift.label_feed import LabelFeed
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
from consumer.drift.schedule import EvaluationSchedule

__all__ = [
    "ConceptFeed",
    "DataFeed",
    "DriftMetrics",
    "DriftObserver",
    "EstimateFeed",
    "EvaluationSchedule",
    "Evaluator",
    "InvalidLabel",
    "Label",
    "LabelColumns",
    "LabelCounts",
    "LabelFeed",
    "LabelJoin",
    "ReportPublisher",
    "ReportSource",
    "TransitionTimes",
    "build_detectors",
    "build_drift_observer",
    "build_estimator",
    "new_label_join",
    "check_copartitioned",
    "decode_label",
    "decode_labels",
    "report_record",
]
