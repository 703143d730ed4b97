"""Output records: one prediction per valid event, one dead-letter record per invalid event.

Prediction (topic `output_topic`, key = the input key), JSON::

    {"event_id": "e-42", "predicted_price": 512.3, "model_version": "hgb-0123456789ab",
     "event_time": 1767225600000, "scored_at": 1767225600123,
     "source_partition": 0, "source_offset": 1234}

Dead letter (topic `dlq_topic`): the original value bytes and key, plus headers `dlq.reason`
(one of `model.schema.REASONS`), `dlq.error` (<= 500 chars), `dlq.source.topic`,
`dlq.source.partition`, `dlq.source.offset`, `dlq.consumer.group` and `dlq.failed_at` (epoch
ms). Values above `DLQ_MAX_VALUE_BYTES` are cut to that size and flagged with `dlq.truncated`
and `dlq.original.size`, so one huge event can never block its partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from consumer.pipeline.batch import BatchMeta, MessageLike
from consumer.pipeline.decode import Rejected

DLQ_ERROR_MAX_CHARS = 500
DLQ_MAX_VALUE_BYTES = 900_000  # under librdkafka's default message.max.bytes (1 MB) + headers


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
    template = (
        b'{"event_id":%b,"predicted_price":%b,"model_version":'
        + dumps(model_version).replace(b"%", b"%%")
        + b',"event_time":%d,"scored_at":'
        + str(int(scored_at_ms)).encode()
        + b',"source_partition":%d,"source_offset":%d}'
    )
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
    value = message.value()
    headers: list[tuple[str, str | bytes | None]] = [
        ("dlq.reason", rejected.reason.encode()),
        ("dlq.error", rejected.error[:DLQ_ERROR_MAX_CHARS].encode("utf-8", "replace")),
        ("dlq.source.topic", str(message.topic()).encode()),
        ("dlq.source.partition", str(message.partition()).encode()),
        ("dlq.source.offset", str(message.offset()).encode()),
        ("dlq.consumer.group", group_id.encode()),
        ("dlq.failed_at", str(failed_at_ms).encode()),
    ]
    if value is not None and len(value) > DLQ_MAX_VALUE_BYTES:
        headers.append(("dlq.truncated", b"true"))
        headers.append(("dlq.original.size", str(len(value)).encode()))
        value = value[:DLQ_MAX_VALUE_BYTES]
    return OutRecord(topic, message.key(), value, headers)
