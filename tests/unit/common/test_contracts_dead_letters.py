"""The dead-letter contract: header names and order, and the size limits at their edges."""

from __future__ import annotations

from typing import Any

import pytest

from common.contracts import dead_letters as dl
from common.contracts.events import REASONS

FIELDS: dict[str, Any] = {
    "reason": "not_json", "error": "bad bytes", "source_topic": "in", "source_partition": 2,
    "source_offset": 42, "group_id": "scorers", "failed_at_ms": 1700,
}


def test_headers_are_pinned_in_order() -> None:
    value, headers = dl.dead_letter(b"{", **FIELDS)
    assert value == b"{"
    assert headers == [
        ("dlq.reason", b"not_json"),
        ("dlq.error", b"bad bytes"),
        ("dlq.source.topic", b"in"),
        ("dlq.source.partition", b"2"),
        ("dlq.source.offset", b"42"),
        ("dlq.consumer.group", b"scorers"),
        ("dlq.failed_at", b"1700"),
    ]
    assert FIELDS["reason"] in REASONS


@pytest.mark.parametrize(
    ("size", "cut"), [(dl.DLQ_MAX_VALUE_BYTES, False), (dl.DLQ_MAX_VALUE_BYTES + 1, True)]
)
def test_a_value_over_the_limit_is_cut_and_flagged(size, cut) -> None:
    value, headers = dl.dead_letter(b"x" * size, **FIELDS)
    assert value is not None and len(value) == dl.DLQ_MAX_VALUE_BYTES
    names = dict(headers)
    assert (dl.TRUNCATED_HEADER in names) is cut
    if cut:
        assert names[dl.TRUNCATED_HEADER] == b"true"
        assert names[dl.ORIGINAL_SIZE_HEADER] == str(size).encode()


def test_the_error_is_cut_by_characters_and_a_tombstone_stays_none() -> None:
    value, headers = dl.dead_letter(None, **{**FIELDS, "error": "é" * (dl.DLQ_ERROR_MAX_CHARS + 5)})
    assert value is None
    assert dict(headers)[dl.ERROR_HEADER] == ("é" * dl.DLQ_ERROR_MAX_CHARS).encode()
    assert dl.TRUNCATED_HEADER not in dict(headers)
