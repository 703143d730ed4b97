"""The event schema: good events pass and normalise, bad ones name the field, value and reason."""

from __future__ import annotations

import math

import pytest

from model.exceptions import EventValidationError
from model.schema import REASONS, DiamondEvent, validate_event

GOOD = {
    "event_id": "e-1",
    "carat": 0.31,
    "cut": "Ideal",
    "color": "E",
    "clarity": "SI1",
    "depth": 61.5,
    "table": 55,
    "event_time": 1_767_225_600_000,
}


def with_(**changes: object) -> dict[str, object]:
    event = dict(GOOD)
    event.update(changes)
    return event


def without(field: str) -> dict[str, object]:
    event = dict(GOOD)
    del event[field]
    return event


def test_good_event_validates_and_keeps_values() -> None:
    event = validate_event(GOOD)
    assert isinstance(event, DiamondEvent)
    assert event.carat == 0.31
    assert event.table == 55.0 and isinstance(event.table, float)
    assert event.event_time == 1_767_225_600_000


@pytest.mark.parametrize(
    ("raw", "expected_ms"),
    [
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T01:00:00+01:00", 1_767_225_600_000),
        ("2026-01-01T00:00:00.250", 1_767_225_600_250),  # naive means UTC
        (1_767_225_600_000.0, 1_767_225_600_000),
    ],
)
def test_event_time_is_normalised_to_epoch_ms(raw: object, expected_ms: int) -> None:
    assert validate_event(with_(event_time=raw)).event_time == expected_ms


@pytest.mark.parametrize(
    ("event", "reason", "field"),
    [
        (without("carat"), "missing_field", "carat"),
        (with_(price=100), "extra_field", "price"),
        (with_(carat="0.3"), "wrong_type", "carat"),
        (with_(carat=True), "wrong_type", "carat"),
        (with_(depth=None), "wrong_type", "depth"),
        (with_(carat=math.nan), "non_finite", "carat"),
        (with_(table=math.inf), "non_finite", "table"),
        (with_(carat=0), "out_of_range", "carat"),
        (with_(carat=-1.0), "out_of_range", "carat"),
        (with_(carat=1e12), "out_of_range", "carat"),
        (with_(depth=250.0), "out_of_range", "depth"),
        (with_(event_id=""), "out_of_range", "event_id"),
        (with_(event_id="x" * 500), "out_of_range", "event_id"),
        (with_(event_id=42), "wrong_type", "event_id"),
        (with_(cut="ideal"), "unknown_category", "cut"),
        (with_(color="Z"), "unknown_category", "color"),
        (with_(clarity="FL"), "unknown_category", "clarity"),
        (with_(event_time="yesterday"), "invalid_event_time", "event_time"),
        (with_(event_time=1_767_225_600), "invalid_event_time", "event_time"),  # seconds
        (with_(event_time=True), "invalid_event_time", "event_time"),
        (without("event_time"), "missing_field", "event_time"),
    ],
)
def test_bad_events_name_reason_and_field(event: object, reason: str, field: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        validate_event(event)
    assert caught.value.reason == reason
    assert caught.value.field == field
    assert reason in REASONS
    assert field in str(caught.value)


@pytest.mark.parametrize("value", [None, [], [GOOD], "text", 3, 2.5])
def test_non_objects_are_refused(value: object) -> None:
    with pytest.raises(EventValidationError) as caught:
        validate_event(value)
    assert caught.value.reason == "not_object"


def test_unknown_category_message_lists_valid_options() -> None:
    with pytest.raises(EventValidationError) as caught:
        validate_event(with_(cut="ideal"))
    message = str(caught.value)
    assert "'ideal'" in message
    assert "Very Good" in message
