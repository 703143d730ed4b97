"""The input event schema, shared by the producer, the consumer and the tests.

An event is a JSON object with exactly these fields::

    {"event_id": "e-42", "carat": 0.31, "cut": "Ideal", "color": "E", "clarity": "SI1",
     "depth": 61.5, "table": 55.0, "event_time": 1767225600000}

Numbers are strict (no strings, no booleans, finite, inside physical bounds), categories are the
data set's own spellings (case-sensitive), unknown fields are refused, and `event_time` is epoch
milliseconds or an ISO-8601 string, normalised to epoch milliseconds (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from model.exceptions import EventValidationError
from model.features import CATEGORIES

MAX_EVENT_BYTES = 4096
MAX_EVENT_ID_LENGTH = 128

# Bounded reason codes: they become metric labels and dead-letter headers.
REASONS: tuple[str, ...] = (
    "oversize",
    "not_utf8",
    "not_json",
    "not_object",
    "missing_field",
    "extra_field",
    "wrong_type",
    "non_finite",
    "out_of_range",
    "unknown_category",
    "invalid_event_time",
)

_PYDANTIC_REASON = {
    "missing": "missing_field",
    "extra_forbidden": "extra_field",
    "finite_number": "non_finite",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "string_too_short": "out_of_range",
    "string_too_long": "out_of_range",
    "literal_error": "unknown_category",
    "model_type": "not_object",
    "model_attributes_type": "not_object",
}

Cut = Literal["Ideal", "Premium", "Very Good", "Good", "Fair"]
Color = Literal["D", "E", "F", "G", "H", "I", "J"]
Clarity = Literal["IF", "VVS1", "VVS2", "VS1", "VS2", "SI1", "SI2", "I1"]

# Epoch-millisecond bounds: 2000-01-01 to 2100-01-01 catch seconds-vs-ms mix-ups.
_MIN_EVENT_TIME_MS = 946_684_800_000
_MAX_EVENT_TIME_MS = 4_102_444_800_000


class DiamondEvent(BaseModel):
    """One diamond to price."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID_LENGTH)
    carat: float = Field(gt=0, le=20, allow_inf_nan=False)
    cut: Cut
    color: Color
    clarity: Clarity
    depth: float = Field(gt=0, le=100, allow_inf_nan=False)
    table: float = Field(gt=0, le=100, allow_inf_nan=False)
    event_time: int

    @field_validator("event_time", mode="before")
    @classmethod
    def _normalise_event_time(cls, value: Any) -> int:
        return normalise_event_time(value)


def normalise_event_time(value: Any) -> int:
    """Epoch milliseconds (int, or an integral float) or ISO-8601 text -> epoch milliseconds."""
    if isinstance(value, bool):
        raise ValueError(f"event_time must be epoch milliseconds or ISO-8601, got {value!r}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")) or value != int(value):
            raise ValueError(f"event_time must be whole epoch milliseconds, got {value!r}")
        millis = int(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"event_time is not ISO-8601: {value[:64]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        millis = int(parsed.timestamp() * 1000)
    else:
        raise ValueError(f"event_time must be epoch milliseconds or ISO-8601, got {value!r}")
    if not _MIN_EVENT_TIME_MS <= millis <= _MAX_EVENT_TIME_MS:
        raise ValueError(f"event_time {millis} ms is outside years 2000-2100 (seconds, not ms?)")
    return millis


def validate_event(obj: Any) -> DiamondEvent:
    """Validate one decoded JSON value; raise EventValidationError with a bounded reason."""
    if not isinstance(obj, dict):
        raise EventValidationError(
            "not_object", f"event must be a JSON object, got {type(obj).__name__}"
        )
    try:
        return DiamondEvent.model_validate(obj)
    except ValidationError as exc:
        raise _to_event_error(exc) from None


def _to_event_error(exc: ValidationError) -> EventValidationError:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if field == "event_time" and first["type"] != "missing":
        reason = "invalid_event_time"
    else:
        reason = _PYDANTIC_REASON.get(first["type"], "wrong_type")
    value = repr(first.get("input"))[:80]
    expected = ""
    if field in CATEGORIES:
        expected = f" (expected one of {', '.join(CATEGORIES[field])})"
    message = f"{field}: {first['msg']}; got {value}{expected}"
    return EventValidationError(reason, message, field=field)
