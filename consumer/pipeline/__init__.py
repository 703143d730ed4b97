"""The pure batch pipeline: bytes in, records out. No Kafka client, no metrics, no I/O.

::

    transform(messages)                                  (transform.py: the one entry point)
      ├── decode_batch       key and headers (envelope.py), then column-wise decode + validate
      │                      (batch.py, fastpath.py; decode.py is the per-event reference and
      │                      names the reject reasons), event times beyond now + tolerance
      ├── predict_isolating  one vectorised predict; a ScoringError bisects the batch so only
      │                      the failing events are dead-lettered (scoring.py; preprocess.py
      │                      compiles the model's ColumnTransformer)
      └── records            prediction and dead-letter records, each checked against the
                             producer's limit before it is produced (records.py)
    -> BatchOutcome(batch, predictions, outputs, dead_letters, rejected)

No event stops the pipeline: every message ends as a prediction or a dead letter.
"""

from consumer.pipeline.batch import BatchMeta, MessageLike, ScoringBatch, build_batch, decode_batch
from consumer.pipeline.decode import Rejected, decode_event
from consumer.pipeline.envelope import EnvelopeLimits
from consumer.pipeline.records import OutRecord, dlq_record, prediction_records
from consumer.pipeline.scoring import ModelLike, Scorer, predict_isolating
from consumer.pipeline.transform import BatchOutcome, PipelineConfig, transform

__all__ = [
    "BatchMeta",
    "BatchOutcome",
    "EnvelopeLimits",
    "MessageLike",
    "ModelLike",
    "OutRecord",
    "PipelineConfig",
    "Rejected",
    "Scorer",
    "ScoringBatch",
    "build_batch",
    "decode_batch",
    "decode_event",
    "dlq_record",
    "predict_isolating",
    "prediction_records",
    "transform",
]
