"""The event schema: good events pass and normalise, bad ones name the field, value and reason."""

from __future__ import annotations

import math

import pytest

from model.exceptions import EventValidationError
from model.schema import REASONS, DiamondEvent, validate_event
from tests.samples import GOOD_EVENT, event


def without(field: str) -> dict[str, object]:
    return {name: value for name, value in GOOD_EVENT.items() if name != field}


def test_good_event_validates_and_keeps_values() -> None:
    valid = validate_event(event(table=55))
    assert isinstance(valid, DiamondEvent)
    assert valid.carat == 0.31
    assert valid.table == 55.0 and isinstance(valid.table, float)
    assert valid.event_time == 1_767_225_600_000


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
    assert validate_event(event(event_time=raw)).event_time == expected_ms


@pytest.mark.parametrize(
    ("bad", "reason", "field"),
    [
        (without("carat"), "missing_field", "carat"),
        (event(price=100), "extra_field", "price"),
        (event(carat="0.3"), "wrong_type", "carat"),
        (event(carat=True), "wrong_type", "carat"),
        (event(depth=None), "wrong_type", "depth"),
        (event(carat=math.nan), "non_finite", "carat"),
        (event(table=math.inf), "non_finite", "table"),
        (event(carat=0), "out_of_range", "carat"),
        (event(carat=-1.0), "out_of_range", "carat"),
        (event(carat=1e12), "out_of_range", "carat"),
        (event(depth=250.0), "out_of_range", "depth"),
        (event(event_id=""), "out_of_range", "event_id"),
        (event(event_id="x" * 500), "out_of_range", "event_id"),
        (event(event_id=42), "wrong_type", "event_id"),
        (event(cut="ideal"), "unknown_category", "cut"),
        (event(color="Z"), "unknown_category", "color"),
        (event(clarity="FL"), "unknown_category", "clarity"),
        (event(event_time="yesterday"), "invalid_event_time", "event_time"),
        (event(event_time=1_767_225_600), "invalid_event_time", "event_time"),  # seconds
        (event(event_time=True), "invalid_event_time", "event_time"),
        (without("event_time"), "missing_field", "event_time"),
    ],
)
def test_bad_events_name_reason_and_field(bad: object, reason: str, field: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        validate_event(bad)
    assert caught.value.reason == reason
    assert caught.value.field == field
    assert reason in REASONS
    assert field in str(caught.value)


@pytest.mark.parametrize("value", [None, [], [GOOD_EVENT], "text", 3, 2.5])
def test_non_objects_are_refused(value: object) -> None:
    with pytest.raises(EventValidationError) as caught:
        validate_event(value)
    assert caught.value.reason == "not_object"


def test_unknown_category_message_lists_valid_options() -> None:
    with pytest.raises(EventValidationError) as caught:
        validate_event(event(cut="ideal"))
    message = str(caught.value)
    assert "'ideal'" in message
    assert "Very Good" in message
