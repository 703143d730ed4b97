"""Raw Kafka value -> a validated `DiamondEvent`, or a `Rejected` with a bounded reason.

Checks run cheapest first: size (before any parsing), JSON (orjson, which also checks UTF-8),
then the schema (`model.schema.validate_event`). The slower diagnosis of *why* orjson refused
the bytes (not UTF-8? a NaN/Infinity literal?) only runs on the failure path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from common.contracts.events import REASONS
from model.exceptions import EventValidationError
from model.schema import DiamondEvent, validate_event


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why one event cannot be scored: `reason` is one of `common.contracts.events.REASONS`."""

    reason: str
    error: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, got {self.reason!r}")


def decode_event(value: bytes | None, max_bytes: int) -> DiamondEvent | Rejected:
    """Decode and validate one Kafka message value."""
    if value is None:
        return Rejected("not_json", "empty value (a tombstone): expected a JSON object")
    if len(value) > max_bytes:
        return Rejected("oversize", f"event is {len(value)} bytes, the limit is {max_bytes}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return _diagnose(value, exc)
    try:
        return validate_event(obj)
    except EventValidationError as exc:
        return Rejected(exc.reason, str(exc))


def _diagnose(value: bytes, exc: orjson.JSONDecodeError) -> Rejected:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as err:
        return Rejected("not_utf8", f"value is not UTF-8: {err.reason} at byte {err.start}")
    if not text.strip():
        return Rejected("not_json", "empty value: expected a JSON object")
    # orjson refuses NaN/Infinity literals; the stdlib accepts them, so a stdlib parse that only
    # succeeds thanks to such a literal means the document is JSON but for a non-finite number.
    constants: list[str] = []
    try:
        obj = json.loads(text, parse_constant=lambda name: _record(constants, name))
    except (ValueError, RecursionError):
        pass
    else:
        if constants:
            return Rejected("non_finite", f"non-finite number literal {constants[0]} in the event")
        # Valid JSON that orjson cannot hold (a number beyond a double such as 1e999, a lone
        # surrogate): the schema tells what is wrong with it (1e999 -> non_finite).
        try:
            validate_event(obj)
        except EventValidationError as err:
            return Rejected(err.reason, str(err))
    return Rejected("not_json", f"not valid JSON: {exc}")


def _record(seen: list[str], name: str) -> Any:
    seen.append(name)
    return None
