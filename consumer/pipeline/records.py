"""Output records: one prediction per valid event, one dead-letter record per invalid event.

The formats are the contract's: predictions (topic `output_topic`, key = the input key) are
`common.contracts.predictions`, dead letters (topic `dlq_topic`, the original key and value
bytes, the reason in `dlq.*` headers, oversized values cut) are `common.contracts.dead_letters`.
This module turns a scored batch and its rejections into those records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

# The limits stay importable from here for this module's callers (re-exported).
from common.contracts.dead_letters import DLQ_ERROR_MAX_CHARS as DLQ_ERROR_MAX_CHARS
from common.contracts.dead_letters import DLQ_MAX_VALUE_BYTES as DLQ_MAX_VALUE_BYTES
from common.contracts.dead_letters import dead_letter
from common.contracts.predictions import prediction_template
from consumer.pipeline.batch import BatchMeta, MessageLike
from consumer.pipeline.decode import Rejected


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str | bytes | None]] | None = None


def prediction_records(
    topic: str, meta: BatchMeta, predictions: np.ndarray, model_version: str, scored_at_ms: int
) -> list[OutRecord]:
    """The prediction records of a batch, in the batch's order.

    The bytes are exactly `orjson.dumps` of the record's dict (test_batch_outputs checks it):
    the parts shared by the batch (model version, scored_at) are serialised once into a
    template, the prices with one `orjson.dumps` of the whole list (floats contain no comma),
    each event_id with its own `orjson.dumps` (JSON string escaping).
    """
    dumps = orjson.dumps
    template = prediction_template(model_version, scored_at_ms)
    prices = dumps(predictions.tolist())[1:-1].split(b",") if len(predictions) else []
    return [
        OutRecord(topic, key, template % (dumps(event_id), price, event_time, partition, offset))
        for key, event_id, price, event_time, partition, offset in zip(
            meta.keys,
            meta.event_ids,
            prices,
            meta.event_times.tolist(),
            meta.partitions.tolist(),
            meta.offsets.tolist(),
            strict=True,
        )
    ]


def dlq_record(
    topic: str, message: MessageLike, rejected: Rejected, group_id: str, failed_at_ms: int
) -> OutRecord:
    """The dead-letter record of one rejected message."""
    value, headers = dead_letter(
        message.value(),
        reason=rejected.reason,
        error=rejected.error,
        source_topic=message.topic(),
        source_partition=message.partition(),
        source_offset=message.offset(),
        group_id=group_id,
        failed_at_ms=failed_at_ms,
    )
    return OutRecord(topic, message.key(), value, headers)
