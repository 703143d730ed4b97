"""Ground-truth labels: an event's true price, published `delay` seconds after the event.

A label (key = the event_id in UTF-8, so that it lands in the partition number of its event when
both topics have as many partitions) is::

    {"event_id": "e-42", "price": 512, "event_time": 1767225600000}

`event_id` is the event's id (1 to `MAX_EVENT_ID_LENGTH` characters), `price` its true price (a
finite number > 0; the producer writes integers), `event_time` the event's own time (epoch
milliseconds or ISO-8601, as for events). Readers ignore other fields, so a writer may add some.
At most `MAX_LABEL_BYTES` bytes.

`encode_label` writes one; `decode_label` reads one and never raises: a value that is not such an
object gives an `InvalidLabel` with the reason in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson

from common.contracts.events import MAX_EVENT_BYTES, MAX_EVENT_ID_LENGTH, normalise_event_time

LABEL_FIELDS: tuple[str, ...] = ("event_id", "price", "event_time")
MAX_LABEL_BYTES = MAX_EVENT_BYTES


@dataclass(frozen=True, slots=True)
class Label:
    event_id: str
    price: float
    event_time: int  # epoch milliseconds


@dataclass(frozen=True, slots=True)
class InvalidLabel:
    error: str


def encode_label(event_id: str, price: int | float, event_time: int) -> bytes:
    """The value of one label message (the fields in `LABEL_FIELDS` order)."""
    return orjson.dumps({"event_id": event_id, "price": price, "event_time": event_time})


def decode_label(value: bytes | None) -> Label | InvalidLabel:
    """Decode one label message value."""
    if value is None:
        return InvalidLabel("empty value (a tombstone): expected a JSON object")
    if len(value) > MAX_LABEL_BYTES:
        return InvalidLabel(f"label is {len(value)} bytes, the limit is {MAX_LABEL_BYTES}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return InvalidLabel(f"not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return InvalidLabel(f"label must be a JSON object, got {type(obj).__name__}")
    event_id, price = obj.get("event_id"), obj.get("price")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID_LENGTH:
        return InvalidLabel(
            f"event_id must be a string of 1-{MAX_EVENT_ID_LENGTH} characters, got "
            f"{repr(event_id)[:80]}"
        )
    if (
        isinstance(price, bool) or not isinstance(price, int | float)
        or not math.isfinite(price) or price <= 0
    ):
        return InvalidLabel(f"price must be a finite number > 0, got {repr(price)[:80]}")
    if "event_time" not in obj:
        return InvalidLabel("event_time is missing")
    try:
        event_time = normalise_event_time(obj["event_time"])
    except ValueError as exc:
        return InvalidLabel(f"event_time: {exc}")
    return Label(event_id, float(price), event_time)
