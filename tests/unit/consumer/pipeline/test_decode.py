"""Bytes -> event or a bounded reason, for every reason code."""

from __future__ import annotations

from typing import Any

import pytest
from consumer_fakes import GOOD, encode, event

from consumer.pipeline.decode import Rejected, decode_event
from model.schema import MAX_EVENT_BYTES, REASONS, DiamondEvent


def without(name: str) -> dict[str, Any]:
    out = dict(GOOD)
    del out[name]
    return out


def reason_of(value: bytes | None, max_bytes: int = MAX_EVENT_BYTES) -> str:
    result = decode_event(value, max_bytes)
    assert isinstance(result, Rejected), f"expected a rejection, got {result!r}"
    assert result.reason in REASONS
    assert result.error
    return result.reason


def test_good_event_decodes() -> None:
    result = decode_event(encode(GOOD), MAX_EVENT_BYTES)
    assert isinstance(result, DiamondEvent)
    assert result.event_id == "e-1" and result.carat == 0.31 and result.cut == "Ideal"


def test_iso_event_time_is_normalised() -> None:
    result = decode_event(encode(event(event_time="2026-01-01T00:00:00Z")), MAX_EVENT_BYTES)
    assert isinstance(result, DiamondEvent)
    assert result.event_time == 1_767_225_600_000


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe{}", "not_utf8"),
        ('{"event_id": "caf\u00e9"}'.encode("latin-1"), "not_utf8"),
        (b"{not json", "not_json"),
        (b"", "not_json"),
        (b"   ", "not_json"),
        (None, "not_json"),
        (b'{"carat": 1,}', "not_json"),
        (b"[1, 2, 3]", "not_object"),
        (b"42", "not_object"),
        (b'"a string"', "not_object"),
        (b"null", "not_object"),
        (b"true", "not_object"),
        (encode(without("carat")), "missing_field"),
        (encode(without("event_id")), "missing_field"),
        (encode(event(price=326)), "extra_field"),
        (encode(event(carat="0.31")), "wrong_type"),
        (encode(event(depth="61.5")), "wrong_type"),
        (encode(event(carat=True)), "wrong_type"),
        (encode(event(cut=3)), "unknown_category"),  # the schema: not one of the literals
        (encode(event(carat=None)), "wrong_type"),
        (encode(event(carat=[1])), "wrong_type"),
        (encode(event(carat=-0.5)), "out_of_range"),
        (encode(event(carat=0)), "out_of_range"),
        (encode(event(carat=1e300)), "out_of_range"),
        (encode(event(depth=1e9)), "out_of_range"),
        (encode(event(table=-1.0)), "out_of_range"),
        (encode(event(event_id="")), "out_of_range"),
        (encode(event(cut="Excellent")), "unknown_category"),
        (encode(event(cut="ideal")), "unknown_category"),
        (encode(event(color="e")), "unknown_category"),
        (encode(event(clarity="si1")), "unknown_category"),
        (encode(event(event_time="yesterday")), "invalid_event_time"),
        (encode(event(event_time=1_767_225_600)), "invalid_event_time"),  # seconds, not ms
        (encode(event(event_time=1.5e12 + 0.5)), "invalid_event_time"),
        (encode(event(event_time=True)), "invalid_event_time"),
    ],
)
def test_bad_events_get_their_reason(value: bytes | None, reason: str) -> None:
    assert reason_of(value) == reason


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_non_finite(literal: str) -> None:
    text = encode(GOOD).decode().replace('"carat":0.31', f'"carat":{literal}')
    assert literal in text
    assert reason_of(text.encode()) == "non_finite"


def test_nan_inside_broken_json_is_still_not_json() -> None:
    assert reason_of(b'{"carat": NaN,,}') == "not_json"


def test_nan_inside_a_string_is_a_category_problem_not_non_finite() -> None:
    assert reason_of(encode(event(cut="NaN"))) == "unknown_category"


def test_oversize_is_checked_before_parsing() -> None:
    big = b"\xff" * (MAX_EVENT_BYTES + 1)  # not even UTF-8: size wins
    result = decode_event(big, MAX_EVENT_BYTES)
    assert isinstance(result, Rejected) and result.reason == "oversize"
    assert str(MAX_EVENT_BYTES + 1) in result.error


def test_limit_is_configurable_and_inclusive() -> None:
    value = encode(GOOD)
    assert isinstance(decode_event(value, len(value)), DiamondEvent)
    assert reason_of(value, len(value) - 1) == "oversize"


def test_deeply_nested_json_is_rejected_not_crashing() -> None:
    assert reason_of(b"[" * 2000 + b"]" * 2000, max_bytes=10_000) in {"not_json", "not_object"}


def test_error_message_names_the_field_and_value() -> None:
    result = decode_event(encode(event(cut="Excellent")), MAX_EVENT_BYTES)
    assert isinstance(result, Rejected)
    assert "cut" in result.error and "Excellent" in result.error


def test_rejected_refuses_unbounded_reasons() -> None:
    with pytest.raises(ValueError, match="reason must be one of"):
        Rejected("something_new", "x")
