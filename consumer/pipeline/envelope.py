"""The record around an event: its key and headers are input too, checked before the value.

A key is copied into the event's prediction and dead letter, so a huge key can make those
records larger than the producer accepts; a key that is not UTF-8 cannot be read by text-keyed
consumers downstream. Headers are not copied, but a record with thousands of them is not one
our producer wrote. So a key over `max_key_bytes` or not UTF-8 is ``invalid_key``, and more
than `max_headers` headers, or more than `max_header_bytes` of names and values, is
``invalid_headers``. No key (None) and no headers are fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.contracts.events import MAX_HEADER_BYTES, MAX_HEADERS, MAX_KEY_BYTES
from consumer.pipeline.decode import Rejected


@dataclass(frozen=True, slots=True)
class EnvelopeLimits:
    """Bounds of a record's key and headers (the settings of the same names)."""

    max_key_bytes: int = MAX_KEY_BYTES
    max_headers: int = MAX_HEADERS
    max_header_bytes: int = MAX_HEADER_BYTES


def check_key(key: bytes | None, limits: EnvelopeLimits) -> Rejected | None:
    if key is None:
        return None
    if len(key) > limits.max_key_bytes:
        return Rejected("invalid_key", f"key is {len(key)} bytes, the limit is "
                                       f"{limits.max_key_bytes}")
    if not key.isascii():  # the common case needs no decode
        try:
            key.decode("utf-8")
        except UnicodeDecodeError as err:
            return Rejected("invalid_key", f"key is not UTF-8: {err.reason} at byte {err.start}")
    return None


def check_headers(headers: Sequence[tuple[str, Any]] | None,
                  limits: EnvelopeLimits) -> Rejected | None:
    if not headers:
        return None
    if len(headers) > limits.max_headers:
        return Rejected("invalid_headers", f"{len(headers)} headers, the limit is "
                                           f"{limits.max_headers}")
    size = sum(len(name.encode("utf-8", "replace")) + _size(value) for name, value in headers)
    if size > limits.max_header_bytes:
        return Rejected("invalid_headers", f"headers hold {size} bytes, the limit is "
                                           f"{limits.max_header_bytes}")
    return None


def check_envelopes(messages: Sequence[Any], limits: EnvelopeLimits) -> list[tuple[int, Rejected]]:
    """(index, rejection) of each message whose key or headers break `limits`, in order."""
    keys = [msg.key() for msg in messages]
    headers = [msg.headers() for msg in messages]
    if not any(headers):
        try:  # the common case at C speed: short ASCII keys (a None key: the slow path)
            if max(map(len, keys), default=0) <= limits.max_key_bytes and \
                    b"".join(keys).isascii():
                return []
        except TypeError:
            pass
    rejected: list[tuple[int, Rejected]] = []
    for i, (key, pairs) in enumerate(zip(keys, headers, strict=True)):
        result = check_key(key, limits) or check_headers(pairs, limits)
        if result is not None:
            rejected.append((i, result))
    return rejected


def _size(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    return len(value)
