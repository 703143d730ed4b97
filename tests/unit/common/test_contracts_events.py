"""The event contract: the pydantic model, the fast path and the producer follow its fields and
bounds."""

from __future__ import annotations

import orjson
import pytest

from common.contracts import events
from consumer.pipeline.fastpath import decode_values
from model import schema
from model.exceptions import EventValidationError
from producer.events import EventGenerator
from tests.samples import GOOD_EVENT, T0, two_rows


def test_the_pydantic_model_has_the_contract_fields_in_order() -> None:
    assert tuple(schema.DiamondEvent.model_fields) == events.EVENT_FIELDS
    assert tuple(GOOD_EVENT) == events.EVENT_FIELDS


def test_model_schema_reexports_the_contract_objects() -> None:
    assert schema.REASONS is events.REASONS
    assert schema.normalise_event_time is events.normalise_event_time
    assert (schema.MAX_EVENT_BYTES, schema.MAX_EVENT_ID_LENGTH) == (
        events.MAX_EVENT_BYTES, events.MAX_EVENT_ID_LENGTH,
    )


def test_the_reasons_are_distinct_and_pinned() -> None:
    assert len(set(events.REASONS)) == len(events.REASONS) == 15
    assert events.REASONS[0] == "oversize" and events.REASONS[10] == "invalid_event_time"
    # issue 12: the record around the event, and the failures that are not the input's
    assert events.REASONS[11:] == ("invalid_key", "invalid_headers", "scoring_failed",
                                   "output_rejected")


def test_the_time_bounds_are_years_2000_to_2100() -> None:
    assert events.normalise_event_time("2000-01-01T00:00:00Z") == events.MIN_EVENT_TIME_MS
    assert events.normalise_event_time("2100-01-01T00:00:00Z") == events.MAX_EVENT_TIME_MS
    for outside in (events.MIN_EVENT_TIME_MS - 1, events.MAX_EVENT_TIME_MS + 1):
        with pytest.raises(ValueError, match="outside years 2000-2100"):
            events.normalise_event_time(outside)


def edges() -> list[tuple[dict[str, object], bool]]:
    """(event, valid) at each bound of the contract: just inside and just outside."""
    cases: list[tuple[dict[str, object], bool]] = []
    for name, (low, high) in events.NUMERIC_BOUNDS.items():
        cases += [
            ({**GOOD_EVENT, name: float(high)}, True),
            ({**GOOD_EVENT, name: float(high) + 1e-9}, False),
            ({**GOOD_EVENT, name: float(low) + 1e-9}, True),
            ({**GOOD_EVENT, name: float(low)}, False),
        ]
    cases += [
        ({**GOOD_EVENT, "event_time": events.MIN_EVENT_TIME_MS}, True),
        ({**GOOD_EVENT, "event_time": events.MIN_EVENT_TIME_MS - 1}, False),
        ({**GOOD_EVENT, "event_time": events.MAX_EVENT_TIME_MS}, True),
        ({**GOOD_EVENT, "event_time": events.MAX_EVENT_TIME_MS + 1}, False),
        ({**GOOD_EVENT, "event_id": "x" * events.MAX_EVENT_ID_LENGTH}, True),
        ({**GOOD_EVENT, "event_id": "x" * (events.MAX_EVENT_ID_LENGTH + 1)}, False),
        ({**GOOD_EVENT, "event_id": ""}, False),
    ]
    return cases


@pytest.mark.parametrize(("event", "valid"), edges())
def test_the_model_and_the_fast_path_keep_the_contract_bounds(event, valid) -> None:
    try:
        schema.validate_event(event)
    except EventValidationError as exc:
        assert not valid, exc
        assert exc.reason in {"out_of_range", "invalid_event_time"}
    else:
        assert valid
    decoded = decode_values([orjson.dumps(event)], events.MAX_EVENT_BYTES)
    assert len(decoded.valid) == int(valid)


def test_the_producer_writes_the_contract_fields_in_order() -> None:
    batch = EventGenerator(two_rows(), seed=1, run_id="r").take(3, event_time=T0)
    for value in batch.values:
        assert tuple(orjson.loads(value)) == events.EVENT_FIELDS
        assert len(value) <= events.MAX_EVENT_BYTES
