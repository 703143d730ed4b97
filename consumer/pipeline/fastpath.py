"""The common case of decoding a batch, checked column by column instead of event by event.

`decode_values` parses every value with orjson, then checks each field of the whole batch at
once (types with one pass per column, ranges with numpy). It only *accepts*: an event passes
when it is a JSON object with exactly the schema's fields, a `str` event_id of 1 to
`MAX_EVENT_ID_LENGTH` characters, `float` carat/depth/table inside the schema's bounds, known
categories and an `int` event_time in epoch milliseconds inside the schema's bounds. Every
other event (a rejection, but also a valid event in a rarer form: an ISO-8601 event_time, an
integer carat) goes through the reference path, `consumer.pipeline.decode.decode_event` (the
pydantic model), which gives the decision, the reason and the message. So the fast path accepts
a subset of what the reference accepts, with the same values, and the reference decides
everything else: `tests/unit/consumer/pipeline/test_fastpath.py` checks both against each
other on generated events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from common.contracts.events import (
    EVENT_FIELDS,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TIME_MS,
    MIN_EVENT_TIME_MS,
    NUMERIC_BOUNDS,
)
from consumer.pipeline.decode import Rejected, decode_event
from model.features import CATEGORICAL_FEATURES, CATEGORIES, NUMERIC_FEATURES

FIELDS = EVENT_FIELDS
_KEYS = frozenset(FIELDS)
_GET_FIELDS = itemgetter(*FIELDS)
# Each category's code: its index in the schema's order (`CATEGORY_DTYPES` of the frame).
CODES = {name: {c: i for i, c in enumerate(CATEGORIES[name])} for name in CATEGORICAL_FEATURES}
# (lower bound exclusive, upper bound inclusive) of the numeric fields, as floats.
_BOUNDS = {name: (float(NUMERIC_BOUNDS[name][0]), float(NUMERIC_BOUNDS[name][1]))
           for name in NUMERIC_FEATURES}
# Any valid event: it stands in for the rows that are not objects of the right shape, so the
# columns stay aligned with the batch; those rows are marked invalid from the start.
_FILLER: dict[str, Any] = {
    "event_id": "x", "carat": 1.0, "cut": "Ideal", "color": "D", "clarity": "IF",
    "depth": 60.0, "table": 55.0, "event_time": 1_767_225_600_000,
}


@dataclass(frozen=True)
class DecodedColumns:
    """Columns of the valid events (in batch order) and the rejections with their index."""

    valid: np.ndarray  # int64 indices into the batch of the valid events
    event_ids: list[str]
    numeric: dict[str, np.ndarray]  # float64
    categorical: dict[str, np.ndarray]  # int8 codes into `CATEGORIES[name]`
    event_times: np.ndarray  # int64 epoch ms
    rejected: list[tuple[int, Rejected]]


def decode_values(values: Sequence[bytes | None], max_bytes: int) -> DecodedColumns:
    """Decode and validate the values of a batch (see the module docstring)."""
    n = len(values)
    columns, ok = _columns(_parse(values, max_bytes))

    event_ids = list(columns["event_id"])
    ok &= _ids_ok(event_ids)
    numeric: dict[str, np.ndarray] = {}
    for name in NUMERIC_FEATURES:
        numeric[name], good = _floats(columns[name], *_BOUNDS[name])
        ok &= good
    categorical: dict[str, np.ndarray] = {}
    for name in CATEGORICAL_FEATURES:
        categorical[name], good = _category_codes(columns[name], CODES[name])
        ok &= good
    event_times, good = _times(columns["event_time"])
    ok &= good

    rejected: list[tuple[int, Rejected]] = []
    if not ok.all():  # the reference path decides every event the fast checks did not accept
        for i in np.flatnonzero(~ok).tolist():
            result = decode_event(values[i], max_bytes)
            if isinstance(result, Rejected):
                rejected.append((i, result))
                continue
            ok[i] = True
            event_ids[i] = result.event_id
            event_times[i] = result.event_time
            for name in NUMERIC_FEATURES:
                numeric[name][i] = getattr(result, name)
            for name in CATEGORICAL_FEATURES:
                categorical[name][i] = CODES[name][getattr(result, name)]
    if rejected:
        valid = np.flatnonzero(ok)
        keep = valid.tolist()
        event_ids = [event_ids[i] for i in keep]
        numeric = {k: v[valid] for k, v in numeric.items()}
        categorical = {k: v[valid] for k, v in categorical.items()}
        event_times = event_times[valid]
    else:
        valid = np.arange(n, dtype=np.int64)
    return DecodedColumns(valid, event_ids, numeric, categorical, event_times, rejected)


def _parse(values: Sequence[bytes | None], max_bytes: int) -> list[Any]:
    """Each value parsed by orjson, or None (no value, too large, not JSON)."""
    loads = orjson.loads
    raw: Sequence[Any] = values
    try:
        if max(map(len, raw), default=0) > max_bytes:  # TypeError on a None value
            raise ValueError("oversize")
        return list(map(loads, raw))
    except (TypeError, ValueError):  # orjson.JSONDecodeError is a ValueError
        objs: list[Any] = []
        for value in values:
            try:
                objs.append(None if value is None or len(value) > max_bytes else loads(value))
            except orjson.JSONDecodeError:
                objs.append(None)
        return objs


def _columns(objs: list[Any]) -> tuple[dict[str, Sequence[Any]], np.ndarray]:
    """The schema's fields as columns, and which rows are objects with exactly those keys (the
    others hold a filler valid event, so that the columns stay aligned with the batch)."""
    n = len(objs)
    if n and set(map(type, objs)) == {dict} and set(map(len, objs)) == {len(FIELDS)}:
        try:  # n dicts of len(FIELDS) keys that all have every field: exactly the fields
            return _transpose(objs), np.ones(n, dtype=bool)
        except KeyError:
            pass
    keys = _KEYS
    ok = np.fromiter((type(o) is dict and o.keys() == keys for o in objs), dtype=bool, count=n)
    if not n:
        return {name: [] for name in FIELDS}, ok
    rows = [o if good else _FILLER for o, good in zip(objs, ok.tolist(), strict=True)]
    return _transpose(rows), ok


def _transpose(rows: list[dict[str, Any]]) -> dict[str, Sequence[Any]]:
    """Field name -> the tuple of its values (KeyError when a row lacks a field)."""
    return dict(zip(FIELDS, zip(*map(_GET_FIELDS, rows), strict=True), strict=True))


def _ids_ok(ids: Sequence[Any]) -> np.ndarray:
    if set(map(type, ids)) == {str}:
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    else:
        lengths = np.fromiter((len(x) if type(x) is str else 0 for x in ids), dtype=np.int64,
                              count=len(ids))
    return (lengths >= 1) & (lengths <= MAX_EVENT_ID_LENGTH)


def _floats(column: Sequence[Any], low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """(values, ok): ok for a `float` with low < value <= high (finite)."""
    if set(map(type, column)) == {float}:
        values = np.array(column, dtype=np.float64)
        ok = np.ones(len(column), dtype=bool)
    else:
        ok = np.fromiter((type(x) is float for x in column), dtype=bool, count=len(column))
        values = np.array([x if type(x) is float else 0.0 for x in column], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return values, ok & np.isfinite(values) & (values > low) & (values <= high)


def _category_codes(column: Sequence[Any], codes: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes, ok): ok for a known category (only a `str` can equal one); -1 otherwise.
    One dict lookup per value, in C: the codes are the batch frame's categorical column, so
    the scorer and the drift monitors never hash the strings again."""
    try:  # None (an unknown value) or an unhashable one: TypeError
        values = np.fromiter(map(codes.get, column), dtype=np.int8, count=len(column))
        return values, np.ones(len(column), dtype=bool)
    except TypeError:
        pass
    values = np.fromiter((codes.get(x, -1) if type(x) is str else -1 for x in column),
                         dtype=np.int8, count=len(column))
    return values, values >= 0


def _times(column: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(epoch ms, ok): ok for an `int` (not a bool) inside the schema's bounds."""
    n = len(column)
    low, high = MIN_EVENT_TIME_MS, MAX_EVENT_TIME_MS
    if set(map(type, column)) == {int}:
        try:
            values = np.array(column, dtype=np.int64)
        except OverflowError:
            pass
        else:
            return values, (values >= low) & (values <= high)
    ok = np.fromiter((type(x) is int and low <= x <= high for x in column), dtype=bool, count=n)
    values = np.fromiter((x if good else 0 for x, good in zip(column, ok.tolist(), strict=True)),
                         dtype=np.int64, count=n)
    return values, ok
