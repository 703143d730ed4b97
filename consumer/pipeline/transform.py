"""`transform`: one batch of input messages -> predictions and dead-letter records. Pure.

No Kafka client, no metrics, no clock but the one passed in: the consume loop (`consumer.loop`)
and bench's ceiling (`bench.inprocess`) call this same function, so the ceiling measures exactly
the per-batch work of the service.

    messages --decode_batch--> ScoringBatch (valid events) --Scorer.predict--> predictions
        │                                                         │
        └── rejected (reason) --> dlq_record        prediction_records <──┘
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from consumer.pipeline.batch import MessageLike, ScoringBatch, decode_batch
from consumer.pipeline.decode import Rejected
from consumer.pipeline.records import OutRecord, dlq_record, prediction_records
from consumer.pipeline.scoring import Scorer

if TYPE_CHECKING:
    from consumer.settings import ConsumerSettings


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Where the records of a batch go, and the size limit of an event."""

    input_topic: str
    output_topic: str
    dlq_topic: str
    group_id: str
    max_event_bytes: int

    @classmethod
    def from_settings(cls, settings: ConsumerSettings) -> PipelineConfig:
        return cls(
            input_topic=settings.input_topic, output_topic=settings.output_topic,
            dlq_topic=settings.dlq_topic, group_id=settings.group_id,
            max_event_bytes=settings.max_event_bytes,
        )


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch became: the scored batch, its records, and the rejected messages."""

    batch: ScoringBatch
    predictions: np.ndarray
    outputs: list[OutRecord]
    dead_letters: list[OutRecord]
    rejected: list[tuple[MessageLike, Rejected]]


def transform(
    messages: Sequence[MessageLike],
    *,
    scorer: Scorer,
    config: PipelineConfig,
    clock: Callable[[], float] = time.time,
) -> BatchOutcome:
    """Decode and validate `messages`, score the valid ones (one predict), build the prediction
    and dead-letter records, all in consumption order. Raises ScoringError (model failure)."""
    batch, rejected = decode_batch(config.input_topic, messages, config.max_event_bytes)
    predictions = scorer.predict(batch.features)
    now_ms = int(clock() * 1000)
    outputs = prediction_records(
        config.output_topic, batch.meta, predictions, scorer.version, now_ms
    )
    dead_letters = [
        dlq_record(config.dlq_topic, msg, reason, config.group_id, now_ms)
        for msg, reason in rejected
    ]
    return BatchOutcome(batch, predictions, outputs, dead_letters, rejected)
