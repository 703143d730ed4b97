"""The poison corpus: bad inputs, each with the dead-letter reason the consumer must give it.

Every item is produced with the key ``POISON/<n>-<name>`` so the audit knows what to expect per
input record. The sizes matter: ``MAX_EVENT_BYTES`` (4 KiB) is the consumer's limit, the
producer's own limit is librdkafka's 1 MB ``message.max.bytes``, and two items go beyond both
(2 MB and 10 MB: the poison input topic gets ``max.message.bytes`` raised for them; see
``INPUT_TOPIC_CONFIG``).

The record around the event is input too: a few items carry a bad key (999,780 bytes: its
prediction would not fit the producer's limit; not UTF-8) or bad headers (1,000 of them, one of
64 KiB) around a valid value, and one a valid event_time far in the future (2099: only the
consumer's clock makes it bad). `needs_record` tells them apart: a value-only check
(`decode_event`) cannot see what is wrong with them. Two reasons no input record triggers under
the default settings (`NOT_FROM_INPUT`): ``scoring_failed`` (the model fails) and
``output_rejected`` (the broker refuses an output record).

Duplicate event ids are not poison: two *different* input records with the same ``event_id``
are both valid and each gets its own prediction. The audit counts per input record
(partition, offset), never per event_id, so ``duplicate_id_events`` only checks that the second
one is not swallowed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from model.schema import MAX_EVENT_BYTES, REASONS

POISON_KEY_PREFIX = b"POISON/"
BIG_BYTES = 2 * 1024 * 1024
HUGE_BYTES = 10 * 1024 * 1024
INPUT_TOPIC_CONFIG = {"max.message.bytes": str(16 * 1024 * 1024)}
PRODUCER_MAX_BYTES = 16 * 1024 * 1024
BIG_KEY_BYTES = 999_780  # the key: the input fits 1 MB, its prediction does not
FUTURE_EVENT_TIME_MS = 4_070_908_800_000  # 2099-01-01: inside the schema's bounds
NOT_FROM_INPUT = frozenset({"scoring_failed", "output_rejected"})

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Poison:
    name: str
    reason: str
    value: bytes | None
    key_suffix: bytes = b""  # appended to the record's POISON/<n>-<name> key
    headers: Headers | None = field(default=None, repr=False)
    needs_clock: bool = False  # the value is bad only against the consumer's clock

    @property
    def needs_record(self) -> bool:
        """The value alone looks valid: the key, headers or the clock make it poison."""
        return bool(self.key_suffix) or self.headers is not None or self.needs_clock


def good_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "poison", "carat": 0.5, "cut": "Ideal", "color": "E", "clarity": "SI1",
        "depth": 61.0, "table": 56.0, "event_time": int(time.time() * 1000),
    }
    event.update(changes)
    return event


def _bad(**changes: Any) -> bytes:
    return orjson.dumps(good_event(**changes))


def _raw_carat(literal: bytes) -> bytes:
    """A good event whose carat is the raw JSON text `literal` (NaN, 1e999, ...)."""
    text = _bad(carat=0.5)
    assert b'"carat":0.5' in text
    return text.replace(b'"carat":0.5', b'"carat":' + literal)


def _without(field: str) -> bytes:
    event = good_event()
    del event[field]
    return orjson.dumps(event)


def poison_corpus() -> list[Poison]:
    """Every item with its expected reason; together they cover every reason code."""
    items = [
        # -- not JSON, not UTF-8, empty ----------------------------------------------------
        Poison("not-json", "not_json", b"{not json"),
        Poison("empty", "not_json", b""),
        Poison("blank", "not_json", b" \n\t "),
        Poison("tombstone", "not_json", None),
        Poison("nul-byte", "not_json", b"\x00"),
        Poison("trailing-garbage", "not_json", _bad() + b"xx"),
        Poison("two-documents", "not_json", _bad() + _bad()),
        Poison("utf8-bom", "not_json", b"\xef\xbb\xbf" + _bad()),
        Poison("control-char", "not_json", b'{"event_id": "a\x01b"}'),
        Poison("not-utf8", "not_utf8", b"\xff\xfe\xfd"),
        Poison("latin1", "not_utf8", '{"event_id": "caf\u00e9"}'.encode("latin-1")),
        Poison("utf16", "not_utf8", _bad().decode().encode("utf-16")),
        # -- JSON but not an object --------------------------------------------------------
        Poison("null", "not_object", b"null"),
        Poison("array", "not_object", b"[1, 2, 3]"),
        Poison("empty-array", "not_object", b"[]"),
        Poison("number", "not_object", b"42"),
        Poison("string", "not_object", b'"a string"'),
        Poison("bool", "not_object", b"true"),
        Poison("array-of-events", "not_object", orjson.dumps([good_event()])),
        # -- missing and extra fields ------------------------------------------------------
        Poison("empty-object", "missing_field", b"{}"),
        *(Poison(f"missing-{f}", "missing_field", _without(f))
          for f in ("event_id", "carat", "cut", "color", "clarity", "depth", "table",
                    "event_time")),
        Poison("extra-price", "extra_field", _bad(price=500)),
        Poison("extra-proto", "extra_field", _bad(__proto__={"admin": True})),
        # -- wrong types, strings for numbers ------------------------------------------------
        Poison("carat-string", "wrong_type", _bad(carat="0.5")),
        Poison("depth-string", "wrong_type", _bad(depth="61.5")),
        Poison("table-string-nan", "wrong_type", _bad(table="NaN")),
        Poison("carat-bool", "wrong_type", _bad(carat=True)),
        Poison("carat-null", "wrong_type", _bad(carat=None)),
        Poison("carat-list", "wrong_type", _bad(carat=[0.5])),
        Poison("carat-object", "wrong_type", _bad(carat={"value": 0.5})),
        Poison("event-id-number", "wrong_type", _bad(event_id=42)),
        Poison("duplicate-key", "wrong_type", _bad()[:-1] + b',"carat":"x"}'),
        Poison("lone-surrogate", "wrong_type",
               _bad(event_id="x").replace(b'"event_id":"x"', b'"event_id":"\\ud800"')),
        # 400 digits: JSON allows it, no double holds it; pydantic calls it not a number.
        Poison("int-400-digits", "wrong_type", _raw_carat(b"9" * 400)),
        # -- NaN and Infinity -----------------------------------------------------------------
        Poison("nan", "non_finite", _raw_carat(b"NaN")),
        Poison("infinity", "non_finite", _raw_carat(b"Infinity")),
        Poison("minus-infinity", "non_finite", _raw_carat(b"-Infinity")),
        Poison("overflow-1e999", "non_finite", _raw_carat(b"1e999")),
        Poison("overflow-minus-1e999", "non_finite", _raw_carat(b"-1e999")),
        # -- out of range: negative, zero, absurd magnitudes ---------------------------------
        Poison("carat-negative", "out_of_range", _bad(carat=-0.5)),
        Poison("carat-zero", "out_of_range", _bad(carat=0)),
        Poison("carat-minus-zero", "out_of_range", _bad(carat=-0.0)),
        Poison("carat-1e308", "out_of_range", _bad(carat=1e308)),
        Poison("carat-1e30-int", "out_of_range", _raw_carat(b"1" + b"0" * 30)),
        Poison("depth-1e9", "out_of_range", _bad(depth=1e9)),
        Poison("table-negative", "out_of_range", _bad(table=-1.0)),
        Poison("depth-zero", "out_of_range", _bad(depth=0)),
        Poison("event-id-empty", "out_of_range", _bad(event_id="")),
        Poison("event-id-200-chars", "out_of_range", _bad(event_id="x" * 200)),
        # -- unknown categories, wrong case, very long strings ------------------------------
        Poison("cut-unknown", "unknown_category", _bad(cut="Excellent")),
        Poison("color-unknown", "unknown_category", _bad(color="Z")),
        Poison("clarity-unknown", "unknown_category", _bad(clarity="FL")),
        Poison("cut-lower-case", "unknown_category", _bad(cut="ideal")),
        Poison("color-lower-case", "unknown_category", _bad(color="e")),
        Poison("clarity-lower-case", "unknown_category", _bad(clarity="si1")),
        Poison("cut-padded", "unknown_category", _bad(cut=" Ideal")),
        Poison("cut-3000-chars", "unknown_category", _bad(cut="x" * 3000)),
        Poison("cut-number", "unknown_category", _bad(cut=3)),
        # -- event time --------------------------------------------------------------------
        Poison("time-words", "invalid_event_time", _bad(event_time="tomorrow")),
        Poison("time-seconds", "invalid_event_time", _bad(event_time=1_767_225_600)),
        Poison("time-negative", "invalid_event_time", _bad(event_time=-1)),
        Poison("time-bool", "invalid_event_time", _bad(event_time=True)),
        Poison("time-fraction", "invalid_event_time", _bad(event_time=1.5e12 + 0.5)),
        Poison("time-future-2099", "invalid_event_time", _bad(event_time=FUTURE_EVENT_TIME_MS),
               needs_clock=True),
        # -- the record around a valid event: key and headers --------------------------------
        Poison("key-999780-bytes", "invalid_key", _bad(), key_suffix=b"k" * BIG_KEY_BYTES),
        Poison("key-not-utf8", "invalid_key", _bad(), key_suffix=b"\xff\xfe\xc3("),
        Poison("headers-1000", "invalid_headers", _bad(),
               headers=[(f"h{i}", b"v") for i in range(1000)]),
        Poison("headers-64kb", "invalid_headers", _bad(), headers=[("big", b"x" * 65_536)]),
        # -- deeply nested -----------------------------------------------------------------
        Poison("nested-2000-deep", "not_json", b"[" * 2000 + b"]" * 2000),
        Poison("nested-carat-100", "wrong_type", _raw_carat(b"[" * 100 + b"]" * 100)),
        Poison("nested-object-600", "wrong_type",
               _raw_carat(b'{"a":' * 600 + b"1" + b"}" * 600)),
        # -- oversize: over the consumer's limit, the producer's and the broker's default -----
        Poison("oversize-4k", "oversize", _bad(event_id="x", pad="y" * MAX_EVENT_BYTES)),
        Poison("oversize-2mb-json", "oversize",
               b'{"pad": "' + b"x" * (BIG_BYTES - 11) + b'"}'),
        Poison("oversize-10mb-nested", "oversize",
               b"[" * (HUGE_BYTES // 2) + b"]" * (HUGE_BYTES // 2)),
        Poison("oversize-2mb-binary", "oversize", bytes(range(256)) * (BIG_BYTES // 256)),
    ]
    names = [p.name for p in items]
    assert len(set(names)) == len(names), "corpus names must be unique"
    reasons = set(REASONS) - NOT_FROM_INPUT
    assert {p.reason for p in items} == reasons, "the corpus must cover every input reason"
    return items


def poison_key(index: int, item: Poison) -> bytes:
    return POISON_KEY_PREFIX + f"{index}-{item.name}".encode() + item.key_suffix


@cache
def _headers_by_name() -> dict[bytes, Headers]:
    return {p.name.encode(): p.headers for p in poison_corpus() if p.headers is not None}


def poison_headers(key: bytes | None) -> Headers | None:
    """The headers to send with the record of `key` (a `poison_key`), or None."""
    if not is_poison_key(key):
        return None
    assert key is not None
    name = key[len(POISON_KEY_PREFIX):].partition(b"-")[2]
    return _headers_by_name().get(name)


def is_poison_key(key: bytes | None) -> bool:
    return key is not None and key.startswith(POISON_KEY_PREFIX)


def duplicate_id_events(event_ids: list[str], count: int) -> list[tuple[bytes, bytes]]:
    """Valid events reusing `count` of the stream's event ids with other features."""
    out = []
    for i, event_id in enumerate(event_ids[:count]):
        value = orjson.dumps(good_event(event_id=event_id, carat=0.3 + i % 10 / 10))
        out.append((f"dup-{event_id}".encode(), value))
    return out
