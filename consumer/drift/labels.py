"""Ground-truth label messages: decode a batch of them into columns, never raising.

The label format (topic `labels_topic`, key = the event_id, written by `producer.labels`) and
its reference decoder `decode_label` are `common.contracts.labels`::

    {"event_id": "e-42", "price": 512, "event_time": 1767225600000}

A message that is not such an object is *invalid*: counted in ``diamond_labels_invalid_total``
and logged (rate-limited, with topic[partition]@offset), never dead-lettered: the DLQ and its
``reason`` codes are for diamond events, and a bad label cannot be re-scored anyway.

`decode_labels` decodes a batch into columns, accepting the common form (int epoch-ms
event_time, int or float price) inline at ~1 us a label and sending anything else through
`decode_label`, so both always agree.

A price must also be at most `max_price`: `max_label_price` makes it `label_price_factor`
(default 100) times the training data's largest price (`ModelArtifact.target_max`). A label
above it (``price=1e300``) is invalid, not an error of the model: without the bound one such
label lifted the window MAE by 1e294 and held the concept alarm for a whole window.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from common.contracts.events import MAX_EVENT_ID_LENGTH, MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS
from common.contracts.labels import MAX_LABEL_BYTES, InvalidLabel, decode_label
from common.contracts.labels import Label as Label  # re-exported by `consumer.drift`

log = logging.getLogger(__name__)


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


def max_label_price(model: Any, factor: float) -> float:
    """`factor` times the model's `target_max`; inf (no bound but > 0) if the model has none."""
    target_max = getattr(model, "target_max", None)
    if not isinstance(target_max, int | float) or not 0 < target_max < math.inf:
        log.warning("model %s records no training price range: label prices are not bounded",
                    getattr(model, "version", "?"))
        return math.inf
    return float(factor * target_max)


def decode_labels(values: Sequence[bytes | None], *, max_price: float = math.inf) -> LabelColumns:
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
            and price <= max_price
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
        elif result.price > max_price:
            out.invalid.append((index, f"price {result.price:g} is above {max_price:g} (the "
                                       "bound derived from the training data's largest price)"))
        else:
            ids.append(result.event_id)
            prices.append(result.price)
            times.append(result.event_time)
            positions.append(index)
    return out
