"""Output records: one prediction per valid event, one dead-letter record per invalid event.

The formats are the contract's: predictions (topic `output_topic`, key = the input key) are
`common.contracts.predictions`, dead letters (topic `dlq_topic`, the original key and value
bytes, the reason in `dlq.*` headers, oversized values cut) are `common.contracts.dead_letters`.
This module turns a scored batch and its rejections into those records.

Every record is checked against the producer's limit *before* it is produced (`record_size`
against ``PipelineConfig.max_record_bytes``): librdkafka refuses a larger record in produce(),
which would fail the whole batch. A prediction that does not fit becomes an ``output_rejected``
dead letter, a dead letter that does not fit a minimal one (`fitted_dead_letter`).
`source_of` reads an output record's source coordinates back from its bytes (a prediction's
``source_partition``/``source_offset``, a dead letter's ``dlq.source.*`` headers): the sink uses
it when the broker refuses a record, so that the retried batch dead-letters that event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

# The limits stay importable from here for this module's callers (re-exported).
from common.contracts.dead_letters import DLQ_ERROR_MAX_CHARS as DLQ_ERROR_MAX_CHARS
from common.contracts.dead_letters import DLQ_MAX_VALUE_BYTES as DLQ_MAX_VALUE_BYTES
from common.contracts.dead_letters import (
    SOURCE_OFFSET_HEADER,
    SOURCE_PARTITION_HEADER,
    SOURCE_TOPIC_HEADER,
    DeadLetterCause,
    dead_letter,
    dead_letter_key,
    minimal_dead_letter,
)
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


# librdkafka counts a record as key + value + headers plus the record's own framing; the margin
# covers that framing (a few varints and attributes) and the headers' per-entry lengths.
RECORD_OVERHEAD_BYTES = 512

Source = tuple[str | None, int, int]  # (topic, partition, offset); topic None: the input topic


def record_size(record: OutRecord) -> int:
    """The bytes librdkafka counts for `record` against message.max.bytes, a little over."""
    size = RECORD_OVERHEAD_BYTES + len(record.key or b"") + len(record.value or b"")
    for name, value in record.headers or ():
        size += len(name.encode()) + (len(value) if value is not None else 0) + 10
    return size


def dlq_record(
    topic: str, message: MessageLike, rejected: Rejected, group_id: str, failed_at_ms: int,
    *, max_key_bytes: int | None = None,
) -> OutRecord:
    """The dead-letter record of one rejected message (its key cut to `max_key_bytes`)."""
    key, key_headers = (message.key(), []) if max_key_bytes is None else dead_letter_key(
        message.key(), max_bytes=max_key_bytes)
    value, headers = dead_letter(
        message.value(), **_cause(message, rejected, group_id, failed_at_ms))
    return OutRecord(topic, key, value, headers + key_headers)


def minimal_dlq_record(
    topic: str, message: MessageLike, rejected: Rejected, group_id: str, failed_at_ms: int
) -> OutRecord:
    """The last-resort dead letter: no key, no value, reason and source coordinates only."""
    headers = minimal_dead_letter(**_cause(message, rejected, group_id, failed_at_ms))
    return OutRecord(topic, None, None, headers)


def _cause(
    message: MessageLike, rejected: Rejected, group_id: str, failed_at_ms: int
) -> DeadLetterCause:
    return DeadLetterCause(
        reason=rejected.reason, error=rejected.error, source_topic=message.topic(),
        source_partition=message.partition(), source_offset=message.offset(),
        group_id=group_id, failed_at_ms=failed_at_ms,
    )


def fitted_dead_letter(
    topic: str, message: MessageLike, rejected: Rejected, group_id: str, failed_at_ms: int,
    *, max_key_bytes: int, max_record_bytes: int, minimal: bool = False,
) -> OutRecord:
    """The dead letter of `message`, or its minimal form when that one would not fit
    `max_record_bytes` (or when `minimal`: the broker refused the full one before)."""
    if not minimal:
        record = dlq_record(topic, message, rejected, group_id, failed_at_ms,
                            max_key_bytes=max_key_bytes)
        if record_size(record) <= max_record_bytes:
            return record
    return minimal_dlq_record(topic, message, rejected, group_id, failed_at_ms)


def source_of(value: bytes | str | None, headers: Any) -> Source | None:
    """Where the event behind an output record was read, from the record's own bytes (a dead
    letter's ``dlq.source.*`` headers, else a prediction's fields); None when they do not say.
    `headers`: (name, value) pairs as given to or returned by librdkafka, or None."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    found = {name: v for name, v in pairs if name.startswith("dlq.source.")}
    try:
        if SOURCE_PARTITION_HEADER in found:
            topic = found.get(SOURCE_TOPIC_HEADER)
            if isinstance(topic, bytes):
                topic = topic.decode()
            return (topic or None, int(found[SOURCE_PARTITION_HEADER]),
                    int(found[SOURCE_OFFSET_HEADER]))
        body = orjson.loads(value or b"null")
        return None, int(body["source_partition"]), int(body["source_offset"])
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):  # JSONDecodeError: ValueError
        return None
