"""Predictions: one JSON record per valid event, key = the event's own key.

::

    {"event_id": "e-42", "predicted_price": 512.3, "model_version": "hgb-0123456789ab",
     "event_time": 1767225600000, "scored_at": 1767225600123,
     "source_partition": 0, "source_offset": 1234}

The fields are `PREDICTION_FIELDS`, in this order; `event_time` is the event's (epoch ms),
`scored_at` when its batch was scored (epoch ms), `source_partition`/`source_offset` where the
event was read. The bytes are exactly ``orjson.dumps`` of that dict (`encode_prediction`);
`prediction_template` gives the same bytes a batch at a time (the consumer's hot path).
"""

from __future__ import annotations

import orjson

PREDICTION_FIELDS: tuple[str, ...] = (
    "event_id", "predicted_price", "model_version", "event_time", "scored_at",
    "source_partition", "source_offset",
)


def encode_prediction(
    *,
    event_id: str,
    predicted_price: float,
    model_version: str,
    event_time: int,
    scored_at: int,
    source_partition: int,
    source_offset: int,
) -> bytes:
    """The value of one prediction record (the reference the template must match)."""
    return orjson.dumps({
        "event_id": event_id, "predicted_price": predicted_price, "model_version": model_version,
        "event_time": event_time, "scored_at": scored_at, "source_partition": source_partition,
        "source_offset": source_offset,
    })


def prediction_template(model_version: str, scored_at_ms: int) -> bytes:
    """The record with the batch's shared parts filled in, for ``template % (...)``.

    The placeholders, in order: the event_id as JSON (``orjson.dumps(event_id)``, for string
    escaping), the price as JSON, then event_time, source_partition and source_offset as ints.
    """
    return (
        b'{"event_id":%b,"predicted_price":%b,"model_version":'
        + orjson.dumps(model_version).replace(b"%", b"%%")
        + b',"event_time":%d,"scored_at":'
        + str(int(scored_at_ms)).encode()
        + b',"source_partition":%d,"source_offset":%d}'
    )
