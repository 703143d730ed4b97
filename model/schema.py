"""The pydantic model of the input event, built from the wire contract.

The format itself (fields, bounds, rejection reasons) is `common.contracts.events`; this module
enforces it with pydantic and maps pydantic's errors to those reasons::

    {"event_id": "e-42", "carat": 0.31, "cut": "Ideal", "color": "E", "clarity": "SI1",
     "depth": 61.5, "table": 55.0, "event_time": 1767225600000}

Numbers are strict (no strings, no booleans, finite, inside physical bounds), categories are the
data set's own spellings (case-sensitive), unknown fields are refused, and `event_time` is epoch
milliseconds or an ISO-8601 string, normalised to epoch milliseconds (UTC).

`REASONS`, `MAX_EVENT_BYTES`, `MAX_EVENT_ID_LENGTH` and `normalise_event_time` are the
contract's, re-exported for the callers of this module; new code imports them from
`common.contracts`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from common.contracts.events import (
    MAX_EVENT_BYTES,
    MAX_EVENT_ID_LENGTH,
    NUMERIC_BOUNDS,
    REASONS,
    normalise_event_time,
)
from model.exceptions import EventValidationError
from model.features import CATEGORIES

__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_EVENT_ID_LENGTH",
    "REASONS",
    "Clarity",
    "Color",
    "Cut",
    "DiamondEvent",
    "normalise_event_time",
    "validate_event",
]

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


class DiamondEvent(BaseModel):
    """One diamond to price."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID_LENGTH)
    carat: float = Field(
        gt=NUMERIC_BOUNDS["carat"][0], le=NUMERIC_BOUNDS["carat"][1], allow_inf_nan=False
    )
    cut: Cut
    color: Color
    clarity: Clarity
    depth: float = Field(
        gt=NUMERIC_BOUNDS["depth"][0], le=NUMERIC_BOUNDS["depth"][1], allow_inf_nan=False
    )
    table: float = Field(
        gt=NUMERIC_BOUNDS["table"][0], le=NUMERIC_BOUNDS["table"][1], allow_inf_nan=False
    )
    event_time: int

    @field_validator("event_time", mode="before")
    @classmethod
    def _normalise_event_time(cls, value: Any) -> int:
        return normalise_event_time(value)


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
