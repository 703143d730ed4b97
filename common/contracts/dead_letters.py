"""Dead letters: one record per event that cannot be scored, on the dead-letter topic.

The record keeps the original key and value bytes and says why in its headers (UTF-8 text):

=====================  =====================================================================
header                 value
=====================  =====================================================================
dlq.reason             one of `common.contracts.events.REASONS`
dlq.error              what was wrong, in words (at most `DLQ_ERROR_MAX_CHARS` characters)
dlq.source.topic       where the event was read: topic, partition and offset
dlq.source.partition
dlq.source.offset
dlq.consumer.group     the consumer group that refused it
dlq.failed_at          when, in epoch milliseconds
dlq.truncated          ``true``, only when the value was cut to `DLQ_MAX_VALUE_BYTES`
dlq.original.size      the value's size in bytes before the cut (with ``dlq.truncated``)
dlq.key.truncated      ``true``, only when the key was cut to the consumer's key limit
dlq.key.original.size  the key's size in bytes before the cut (with ``dlq.key.truncated``)
dlq.payload            ``dropped``, only on a minimal dead letter (see below)
=====================  =====================================================================

A value above `DLQ_MAX_VALUE_BYTES` is cut and a key above the consumer's key limit
(`--max-key-bytes`) is cut, so one huge event can never block its partition. When even that
record cannot be written (larger than the producer's ``message.max.bytes``, or refused by the
broker), a *minimal* dead letter takes its place (`minimal_dead_letter`): no key, no value, only
the reason, the error and the source coordinates, with ``dlq.payload: dropped``.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

REASON_HEADER = "dlq.reason"
ERROR_HEADER = "dlq.error"
SOURCE_TOPIC_HEADER = "dlq.source.topic"
SOURCE_PARTITION_HEADER = "dlq.source.partition"
SOURCE_OFFSET_HEADER = "dlq.source.offset"
CONSUMER_GROUP_HEADER = "dlq.consumer.group"
FAILED_AT_HEADER = "dlq.failed_at"
TRUNCATED_HEADER = "dlq.truncated"
ORIGINAL_SIZE_HEADER = "dlq.original.size"
KEY_TRUNCATED_HEADER = "dlq.key.truncated"
KEY_ORIGINAL_SIZE_HEADER = "dlq.key.original.size"
PAYLOAD_HEADER = "dlq.payload"

DLQ_ERROR_MAX_CHARS = 500
DLQ_MAX_VALUE_BYTES = 900_000  # under librdkafka's default message.max.bytes (1 MB) + headers

Headers = list[tuple[str, str | bytes | None]]


class DeadLetterCause(TypedDict):
    """Why an event was dead-lettered and where it was read: the keywords of `dead_letter` and
    `minimal_dead_letter`, written to the headers in this order."""

    reason: str
    error: str
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    group_id: str
    failed_at_ms: int


def dead_letter(
    value: bytes | None, **cause: Unpack[DeadLetterCause]
) -> tuple[bytes | None, Headers]:
    """The value (cut when too large) and headers of the dead letter of `value`."""
    headers: Headers = [
        (REASON_HEADER, cause["reason"].encode()),
        (ERROR_HEADER, cause["error"][:DLQ_ERROR_MAX_CHARS].encode("utf-8", "replace")),
        (SOURCE_TOPIC_HEADER, str(cause["source_topic"]).encode()),
        (SOURCE_PARTITION_HEADER, str(cause["source_partition"]).encode()),
        (SOURCE_OFFSET_HEADER, str(cause["source_offset"]).encode()),
        (CONSUMER_GROUP_HEADER, cause["group_id"].encode()),
        (FAILED_AT_HEADER, str(cause["failed_at_ms"]).encode()),
    ]
    if value is not None and len(value) > DLQ_MAX_VALUE_BYTES:
        headers.append((TRUNCATED_HEADER, b"true"))
        headers.append((ORIGINAL_SIZE_HEADER, str(len(value)).encode()))
        value = value[:DLQ_MAX_VALUE_BYTES]
    return value, headers


def dead_letter_key(key: bytes | None, *, max_bytes: int) -> tuple[bytes | None, Headers]:
    """The key of a dead letter (cut to `max_bytes`) and the headers that say it was cut."""
    if key is None or len(key) <= max_bytes:
        return key, []
    return key[:max_bytes], [(KEY_TRUNCATED_HEADER, b"true"),
                             (KEY_ORIGINAL_SIZE_HEADER, str(len(key)).encode())]


def minimal_dead_letter(**cause: Unpack[DeadLetterCause]) -> Headers:
    """The headers of a dead letter without key or value: the last resort (module docstring)."""
    _, headers = dead_letter(None, **cause)
    headers.append((PAYLOAD_HEADER, b"dropped"))
    return headers
