"""The column-wise decode (`consumer.pipeline.fastpath`, `decode_batch`) against the reference: the
pydantic model behind `decode_event`, event by event, then `build_batch`.

For every input the two must agree exactly: the same accept/reject decision, the same reason,
the same message, and for accepted events the same values (frame and metadata). Inputs: the
decode unit cases, the poison corpus of the chaos runs, and thousands of seeded generated
events, good ones and every kind of bad one, alone and mixed in batches.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from consumer_fakes import GOOD, FakeMessage, encode, event

from consumer.pipeline.batch import build_batch, decode_batch
from consumer.pipeline.decode import Rejected, decode_event
from model.features import CATEGORIES
from model.schema import MAX_EVENT_BYTES, MAX_EVENT_ID_LENGTH, DiamondEvent

SEED = 20260101


def reference(messages: list[FakeMessage], max_bytes: int = MAX_EVENT_BYTES) -> tuple[Any, list]:
    events, valid, rejected = [], [], []
    for msg in messages:
        result = decode_event(msg.value(), max_bytes)
        if isinstance(result, Rejected):
            rejected.append((msg, result))
        else:
            events.append(result)
            valid.append(msg)
    return build_batch("in", events, valid), rejected


def assert_same(values: list[bytes | None], max_bytes: int = MAX_EVENT_BYTES) -> None:
    messages = [
        FakeMessage(v, _offset=i, _partition=i % 3, _key=f"k{i}".encode())
        for i, v in enumerate(values)
    ]
    fast, fast_rejected = decode_batch("in", messages, max_bytes)
    ref, ref_rejected = reference(messages, max_bytes)
    assert [(m.offset(), r.reason, r.error) for m, r in fast_rejected] == [
        (m.offset(), r.reason, r.error) for m, r in ref_rejected
    ]
    pd.testing.assert_frame_equal(fast.features, ref.features, check_exact=True)
    for name in ("event_times", "offsets", "partitions"):
        a, b = getattr(fast.meta, name), getattr(ref.meta, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert fast.meta.event_ids == ref.meta.event_ids
    assert fast.meta.keys == ref.meta.keys
    assert fast.meta.topic == ref.meta.topic


# -- fixed cases ----------------------------------------------------------------------------

def without(name: str) -> dict[str, Any]:
    out = dict(GOOD)
    del out[name]
    return out


FIXED: list[bytes | None] = [
    encode(GOOD),
    encode(event(event_time="2026-01-01T00:00:00Z")),
    encode(event(event_time="2026-01-01T00:00:00")),
    encode(event(event_time="2026-01-01T00:00:00+02:00")),
    encode(event(event_time=1.767225600e12)),  # an integral float: accepted, as int
    encode(event(carat=1)),  # an int for a float field: accepted by the strict schema
    encode(event(depth=61, table=55)),
    b"\xff\xfe{}", '{"event_id": "caf\u00e9"}'.encode("latin-1"), b"{not json", b"", b"   ",
    None, b'{"carat": 1,}', b"[1, 2, 3]", b"42", b'"a string"', b"null", b"true",
    encode(without("carat")), encode(without("event_id")), encode(event(price=326)),
    encode(event(carat="0.31")), encode(event(depth="61.5")), encode(event(carat=True)),
    encode(event(cut=3)), encode(event(carat=None)), encode(event(carat=[1])),
    encode(event(carat=-0.5)), encode(event(carat=0)), encode(event(carat=1e300)),
    encode(event(depth=1e9)), encode(event(table=-1.0)), encode(event(event_id="")),
    encode(event(cut="Excellent")), encode(event(cut="ideal")), encode(event(color="e")),
    encode(event(clarity="si1")), encode(event(event_time="yesterday")),
    encode(event(event_time=1_767_225_600)), encode(event(event_time=1.5e12 + 0.5)),
    encode(event(event_time=True)), encode(event(event_time=2**64 - 1)),
    encode(event(event_time=-(2**63))), b'{"carat": NaN,,}', encode(event(cut="NaN")),
    encode(GOOD).replace(b'"carat":0.31', b'"carat":NaN'),
    encode(GOOD).replace(b'"carat":0.31', b'"carat":Infinity'),
    encode(GOOD).replace(b'"carat":0.31', b'"carat":1e999'),
    encode(GOOD).replace(b'"carat":0.31', b'"carat":' + b"9" * 400),
    b"\xff" * (MAX_EVENT_BYTES + 1), b"[" * 2000 + b"]" * 2000,
    encode(event(carat=20.0)), encode(event(carat=math.nextafter(20.0, 21))),
    encode(event(carat=5e-324)), encode(event(depth=100.0)),
    encode(event(table=math.nextafter(100.0, 101))),
    encode(event(event_id="x" * MAX_EVENT_ID_LENGTH)),
    encode(event(event_id="x" * (MAX_EVENT_ID_LENGTH + 1))),
    encode(event(event_id="é" * MAX_EVENT_ID_LENGTH)),  # characters, not bytes
    encode(event(event_id='quo"te\\back\nslash\u2028')),
    encode(event(event_time=946_684_800_000)), encode(event(event_time=946_684_799_999)),
    encode(event(event_time=4_102_444_800_000)), encode(event(event_time=4_102_444_800_001)),
    encode(GOOD)[:-1] + b',"carat":"x"}',  # a duplicate key: the last one wins in both
    encode({**GOOD, "carat": 0.5, "cut": "Fair"}),
    b'{"event_id":"a","carat":0.5,"cut":"Ideal","color":"E","clarity":"SI1","depth":61.0,'
    b'"table":55.0,"event_time":1767225600000,"event_time":1767225600001}',
]


@pytest.mark.parametrize("value", FIXED, ids=[str(i) for i in range(len(FIXED))])
def test_each_fixed_case_alone_agrees_with_the_reference(value: bytes | None) -> None:
    assert_same([value])


def test_all_fixed_cases_in_one_batch_agree_with_the_reference() -> None:
    assert_same(FIXED)
    assert_same([encode(GOOD)] * 5 + FIXED + [encode(GOOD)] * 5)


def test_the_poison_corpus_agrees_with_the_reference() -> None:
    corpus = pytest.importorskip("tests.chaos.corpus")
    values = [item.value for item in corpus.poison_corpus()]
    for value in values:
        assert_same([value])
    assert_same(values)


def test_batches_of_valid_events_take_no_reference_call(monkeypatch) -> None:
    import consumer.pipeline.fastpath as fastpath

    def refuse(*_: Any) -> None:
        raise AssertionError("the fast path should have accepted every event")

    monkeypatch.setattr(fastpath, "decode_event", refuse)
    messages = [FakeMessage(encode(event(event_id=f"e{i}", carat=0.2 + i / 100)), _offset=i)
                for i in range(50)]
    batch, rejected = decode_batch("in", messages, MAX_EVENT_BYTES)
    assert len(batch) == 50 and not rejected


def test_empty_and_all_invalid_batches() -> None:
    assert_same([])
    assert_same([b"{", None, b"[]"])
    batch, rejected = decode_batch("in", [FakeMessage(b"{")], MAX_EVENT_BYTES)
    assert len(batch.features) == 0 and [r.reason for _, r in rejected] == ["not_json"]


def test_a_small_size_limit_is_applied_like_the_reference() -> None:
    value = encode(GOOD)
    assert_same([value, value], max_bytes=len(value))
    assert_same([value, b"{}", value], max_bytes=len(value) - 1)


# -- generated events -------------------------------------------------------------------------

def _bad_number(rng: np.random.Generator) -> Any:
    choices: list[Any] = [
        -1.0, 0, 0.0, -0.0, 1e300, 1e9, 20.0000001, 100.5, "1.0", True, False, None, [1.0],
        {"v": 1}, 3, 2**70, 5e-324, float(rng.uniform(-50, 150)), int(rng.integers(-5, 200)),
    ]
    return choices[int(rng.integers(len(choices)))]


def _bad_time(rng: np.random.Generator) -> Any:
    choices: list[Any] = [
        "2026-01-01T00:00:00Z", "2026-13-01", "now", "", 1_767_225_600, 1.5e12, 1.5e12 + 0.5,
        True, None, [1], -1, 946_684_799_999, 4_102_444_800_001, 2**63, 2**64 - 1,
        float(rng.integers(946_684_800_000, 4_102_444_800_000)),
        "1999-12-31T23:59:59+00:00", "2099-06-01T12:00:00.123456",
    ]
    return choices[int(rng.integers(len(choices)))]


def dumps(obj: Any) -> bytes:
    """Compact JSON like orjson's, but also for integers beyond 64 bits."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def generated_value(rng: np.random.Generator, i: int) -> bytes | None:
    """A good event, or (about half the time) one with one or two things wrong."""
    obj: dict[str, Any] = {
        "event_id": f"g-{i}",
        "carat": float(rng.uniform(0.01, 20.0)),
        "cut": str(rng.choice(CATEGORIES["cut"])),
        "color": str(rng.choice(CATEGORIES["color"])),
        "clarity": str(rng.choice(CATEGORIES["clarity"])),
        "depth": float(rng.uniform(40, 100)),
        "table": float(rng.uniform(40, 100)),
        "event_time": int(rng.integers(946_684_800_000, 4_102_444_800_000)),
    }
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        kind = int(rng.integers(10))
        field = str(rng.choice(list(obj) or ["carat"]))
        if kind == 0 and obj:
            del obj[field]
        elif kind == 1:
            obj[str(rng.choice(["price", "x", "Carat", ""]))] = 1
        elif kind == 2 and field in ("carat", "depth", "table"):
            obj[field] = _bad_number(rng)
        elif kind == 3 and field in ("cut", "color", "clarity"):
            obj[field] = str(rng.choice(["ideal", "", "Z", "Very  Good", "IF ", "Fair"]))
        elif kind == 4:
            obj["event_time"] = _bad_time(rng)
        elif kind == 5:
            obj["event_id"] = str(rng.choice(["", "x" * 129, "x" * 128, "ü", 'a"b']))
        elif kind == 6:
            obj[field] = [None, True, 1, 1.5, "s", [], {}][int(rng.integers(7))]
        elif kind == 7:
            return [b"{", b"", None, b"[]", b"\xff", b"1", b"null"][int(rng.integers(7))]
        elif kind == 8:
            return dumps(obj).replace(b"}", b',"pad":"' + b"p" * 5000 + b'"}')
        else:
            return dumps(obj)[:-1] + b',"carat":' + [b"NaN", b"1e999", b"-0"][
                int(rng.integers(3))] + b"}"
    return dumps(obj)


@pytest.mark.parametrize(("batch_size", "count"), [(1, 500), (7, 1400), (200, 4000), (1000, 6000)])
def test_generated_events_agree_with_the_reference(batch_size: int, count: int) -> None:
    rng = np.random.default_rng(SEED + batch_size)
    values = [generated_value(rng, i) for i in range(count)]
    accepted = sum(isinstance(decode_event(v, MAX_EVENT_BYTES), DiamondEvent) for v in values)
    assert 0.3 < accepted / len(values) < 0.8  # both paths really get exercised
    for start in range(0, len(values), batch_size):
        assert_same(values[start:start + batch_size])
