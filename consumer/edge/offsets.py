"""Offsets of a batch: where to commit after it, where to rewind to when it failed.

`next_offsets` and `rewind` talk to the consumer (position, committed, seek); `first_offsets`
only reads the messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from consumer.edge.delivery import TXN_TIMEOUT
from consumer.pipeline.batch import MessageLike

log = logging.getLogger(__name__)

Partition = tuple[str, int]


def next_offsets(consumer: Any, messages: Sequence[MessageLike]) -> list[TopicPartition]:
    """Per partition of the batch: the next offset to read (last + 1, or the position when
    librdkafka already stepped over transaction markers after it)."""
    nxt: dict[Partition, int] = {}
    for msg in messages:
        key = (str(msg.topic()), int(msg.partition() or 0))
        nxt[key] = max(nxt.get(key, -1), int(msg.offset() or 0) + 1)
    tps = [TopicPartition(t, p) for t, p in nxt]
    for tp in consumer.position(tps):
        key = (tp.topic, tp.partition)
        if tp.error is None and tp.offset > nxt[key]:
            nxt[key] = tp.offset
    return [TopicPartition(t, p, o) for (t, p), o in sorted(nxt.items())]


def first_offsets(messages: Sequence[MessageLike]) -> dict[Partition, int]:
    """Per partition: the first offset of the batch (where a rewind must go back to)."""
    first: dict[Partition, int] = {}
    for msg in messages:
        key = (str(msg.topic()), int(msg.partition() or 0))
        offset = int(msg.offset() or 0)
        first[key] = min(first.get(key, offset), offset)
    return first


def rewind(consumer: Any, first_offsets: dict[tuple[str, int], int]) -> None:
    """Seek each partition of a failed batch back to its committed offset (else its first)."""
    targets = dict(first_offsets)
    partitions = [TopicPartition(t, p) for t, p in first_offsets]
    try:
        for tp in consumer.committed(partitions, timeout=TXN_TIMEOUT):
            if tp.error is None and tp.offset >= 0:
                targets[(tp.topic, tp.partition)] = tp.offset
    except KafkaException as exc:
        log.warning("could not read committed offsets (%s): rewinding to the batch start", exc)
    for (topic, partition), offset in targets.items():
        try:
            consumer.seek(TopicPartition(topic, partition, offset))
            log.warning("rewound %s[%d] to offset %d", topic, partition, offset)
        except KafkaException as exc:  # revoked meanwhile: the new owner reads from committed
            log.warning("could not rewind %s[%d]: %s", topic, partition, exc)
