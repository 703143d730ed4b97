"""The diamond event: the JSON object the producer writes and the consumer scores.

::

    {"event_id": "e-42", "carat": 0.31, "cut": "Ideal", "color": "E", "clarity": "SI1",
     "depth": 61.5, "table": 55.0, "event_time": 1767225600000}

Exactly the fields `EVENT_FIELDS` (in this order when the producer writes them); at most
`MAX_EVENT_BYTES` bytes by default (the consumer's `--max-event-bytes`). `event_id` is 1 to
`MAX_EVENT_ID_LENGTH` characters; `carat`, `depth` and `table` are finite numbers with
``low < value <= high`` for their `NUMERIC_BOUNDS`; `cut`, `color` and `clarity` are the data
set's own spellings (`model.features.CATEGORIES`, case-sensitive); `event_time` is epoch
milliseconds or ISO-8601 text, normalised by `normalise_event_time` to epoch milliseconds between
`MIN_EVENT_TIME_MS` and `MAX_EVENT_TIME_MS`.

An event that breaks the format is rejected with one of `REASONS`: a bounded set, used as the
dead letter's ``dlq.reason`` header and as a metric label. The pydantic model that enforces all
this (`model.schema.DiamondEvent`) is built from these constants.

The record around the event is input too: its key is at most `MAX_KEY_BYTES` bytes of UTF-8
(else ``invalid_key``), it carries at most `MAX_HEADERS` headers of `MAX_HEADER_BYTES` bytes in
all (else ``invalid_headers``), and its event_time is at most `EVENT_TIME_TOLERANCE_S` seconds
ahead of the consumer's clock (else ``invalid_event_time``); the consumer's settings may change
these limits. Two reasons are not the input's fault but still end in a dead letter, so that no
record can stop its partition: ``scoring_failed`` (the model failed on this one event),
``output_rejected`` (its prediction or dead letter could not be written, e.g. too large).
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

EVENT_FIELDS: tuple[str, ...] = (
    "event_id", "carat", "cut", "color", "clarity", "depth", "table", "event_time",
)
MAX_EVENT_BYTES = 4096
MAX_EVENT_ID_LENGTH = 128
# (lower bound exclusive, upper bound inclusive). Integers on purpose: pydantic prints them in
# its messages, which travel in the dead letter's `dlq.error` header ("greater than 0").
NUMERIC_BOUNDS: MappingProxyType[str, tuple[int, int]] = MappingProxyType(
    {"carat": (0, 20), "depth": (0, 100), "table": (0, 100)}
)
# Epoch-millisecond bounds: 2000-01-01 to 2100-01-01 catch seconds-vs-ms mix-ups.
MIN_EVENT_TIME_MS = 946_684_800_000
MAX_EVENT_TIME_MS = 4_102_444_800_000
# The record around the event (defaults of the consumer's settings of the same names).
MAX_KEY_BYTES = 512
MAX_HEADERS = 64
MAX_HEADER_BYTES = 16_384
EVENT_TIME_TOLERANCE_S = 3600.0

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
    "invalid_key",
    "invalid_headers",
    "scoring_failed",
    "output_rejected",
)


def normalise_event_time(value: Any) -> int:
    """Epoch milliseconds (int, or an integral float) or ISO-8601 text -> epoch milliseconds.

    Raises ValueError (naming the value) for anything else or outside the bounds.
    """
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
    if not MIN_EVENT_TIME_MS <= millis <= MAX_EVENT_TIME_MS:
        raise ValueError(f"event_time {millis} ms is outside years 2000-2100 (seconds, not ms?)")
    return millis
