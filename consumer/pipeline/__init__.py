"""The pure batch pipeline: bytes in, records out. No Kafka client, no metrics, no I/O.

::

    transform(messages)                                  (transform.py: the one entry point)
      ├── decode_batch       column-wise decode + validate (batch.py, fastpath.py; decode.py
      │                      is the per-event reference and names the reject reasons)
      ├── Scorer.predict     one vectorised predict (scoring.py; preprocess.py compiles the
      │                      model's ColumnTransformer)
      └── records            prediction and dead-letter records (records.py)
    -> BatchOutcome(batch, predictions, outputs, dead_letters, rejected)
"""

from consumer.pipeline.batch import BatchMeta, MessageLike, ScoringBatch, build_batch, decode_batch
from consumer.pipeline.decode import Rejected, decode_event
from consumer.pipeline.records import OutRecord, dlq_record, prediction_records
from consumer.pipeline.scoring import ModelLike, Scorer
from consumer.pipeline.transform import BatchOutcome, PipelineConfig, transform

__all__ = [
    "BatchMeta",
    "BatchOutcome",
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
    "prediction_records",
    "transform",
]
