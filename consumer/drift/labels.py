"""Ground-truth label messages: decode and validate one, never raising.

A label (topic `labels_topic`, key = the event_id, written by `producer.labels`) is::

    {"event_id": "e-42", "price": 512, "event_time": 1767225600000}

`event_id` is the scored event's id (1-128 characters), `price` its true price (a finite number
> 0; the producer writes integers), `event_time` the event's time (epoch milliseconds or ISO-8601,
as in `model.schema`). Other fields are ignored, so the label producer may add some.

A message that is not such an object is *invalid*: counted in ``diamond_labels_invalid_total``
and logged (rate-limited, with topic[partition]@offset), never dead-lettered: the DLQ and its
``reason`` codes are for diamond events, and a bad label cannot be re-scored anyway.

`decode_label` is the reference (one value, a `Label` or an `InvalidLabel` with the reason);
`decode_labels` decodes a batch into columns, accepting the common form (int epoch-ms
event_time, int or float price) inline at ~1 us a label and sending anything else through
`decode_label`, so both always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from model.schema import _MAX_EVENT_TIME_MS as MAX_EVENT_TIME_MS
from model.schema import _MIN_EVENT_TIME_MS as MIN_EVENT_TIME_MS
from model.schema import MAX_EVENT_BYTES, MAX_EVENT_ID_LENGTH, normalise_event_time

MAX_LABEL_BYTES = MAX_EVENT_BYTES


@dataclass(frozen=True, slots=True)
class Label:
    event_id: str
    price: float
    event_time: int  # epoch milliseconds


@dataclass(frozen=True, slots=True)
class InvalidLabel:
    error: str


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


@dataclass
class LabelColumns:
    """A batch of valid labels as columns, in message order; `invalid` holds (index, error)."""

    event_ids: list[str] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)
    event_times: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # index of each label in the batch
    invalid: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.event_ids)


def decode_labels(values: Sequence[bytes | None]) -> LabelColumns:
    """Decode a batch of label values (see the module docstring)."""
    out = LabelColumns()
    ids, prices, times, positions = out.event_ids, out.prices, out.event_times, out.positions
    loads, inf = orjson.loads, math.inf
    for index, value in enumerate(values):
        try:
            if value is None or len(value) > MAX_LABEL_BYTES:
                raise ValueError
            obj = loads(value)
            event_id, price, event_time = obj["event_id"], obj["price"], obj["event_time"]
        except (ValueError, TypeError, KeyError, IndexError):
            event_id = price = event_time = None
        if (
            type(event_id) is str and 0 < len(event_id) <= MAX_EVENT_ID_LENGTH
            and (type(price) is int or type(price) is float) and 0 < price < inf
            and type(event_time) is int and MIN_EVENT_TIME_MS <= event_time <= MAX_EVENT_TIME_MS
        ):
            ids.append(event_id)
            prices.append(float(price))
            times.append(event_time)
            positions.append(index)
            continue
        result = decode_label(value)  # the rarer forms, and every refusal with its reason
        if isinstance(result, InvalidLabel):
            out.invalid.append((index, result.error))
        else:
            ids.append(result.event_id)
            prices.append(result.price)
            times.append(result.event_time)
            positions.append(index)
    return out
