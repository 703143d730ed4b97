"""Fakes at the boundary for the consumer unit tests: Kafka messages, a consumer's offset API,
a recording sink, and a mixed batch. No broker, no artifact on disk.

The sample event and the model stand-in are the shared ones of `tests.samples` (`GOOD_EVENT`,
`event`, `StubModel`); `GOOD`, `event` and `FakeModel` stay importable from here under the names
the consumer's drift tests use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import TopicPartition

from consumer.edge.delivery import Offsets, Records
from consumer.pipeline.records import OutRecord
from tests.samples import GOOD_EVENT as GOOD
from tests.samples import StubModel as FakeModel
from tests.samples import event

__all__ = [
    "GOOD", "FakeMessage", "FakeModel", "FakePositions", "RecordingSink", "encode", "event",
    "mixed_batch",
]


def encode(obj: Any) -> bytes:
    return orjson.dumps(obj)


@dataclass
class FakeMessage:
    """The read side of `confluent_kafka.Message`."""

    _value: bytes | None
    _offset: int = 0
    _partition: int = 0
    _topic: str = "in"
    _key: bytes | None = None
    _headers: list[tuple[str, bytes | None]] | None = None

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        return self._headers

    def offset(self) -> int:
        return self._offset

    def partition(self) -> int:
        return self._partition

    def topic(self) -> str:
        return self._topic

    def error(self) -> None:
        return None


def mixed_batch() -> list[FakeMessage]:
    """Five messages on two partitions: valid g0, g1 and g2 (keys k0, k2, k4, offsets 100 to 102
    of partition 0) between a broken JSON and an unknown category (partition 1, 100 and 101)."""
    values = [
        encode(event(event_id="g0", carat=0.4)),
        b"{broken",
        encode(event(event_id="g1", carat=1.1)),
        encode(event(event_id="bad", cut="ideal")),
        encode(event(event_id="g2", carat=2.2)),
    ]
    return [
        FakeMessage(v, _offset=100 + i // 2, _partition=i % 2, _key=f"k{i}".encode())
        for i, v in enumerate(values)
    ]


@dataclass
class FakePositions:
    """`Consumer.position` / `committed` / `seek` against dicts."""

    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    committed_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    seeks: list[tuple[str, int, int]] = field(default_factory=list)

    def position(self, tps: Sequence[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.positions.get((tp.topic, tp.partition), -1))
            for tp in tps
        ]

    def committed(self, tps: Sequence[TopicPartition], timeout: float = 0) -> list[TopicPartition]:
        return [
            TopicPartition(
                tp.topic, tp.partition, self.committed_offsets.get((tp.topic, tp.partition), -1001),
            )
            for tp in tps
        ]

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))


@dataclass
class RecordingSink:
    """A sink that keeps what it was asked to write; `fail` makes the next call raise."""

    batches: list[tuple[list[OutRecord], list[OutRecord], list[TopicPartition]]] = field(
        default_factory=list
    )
    fail: Exception | None = None

    def start(self) -> None:
        pass

    sent: tuple[list[OutRecord], list[OutRecord]] | None = None

    def write_batch(self, outputs: Records, dlq_records: Records, offsets: Offsets) -> bool:
        self.send(outputs, dlq_records)
        return self.complete(offsets)

    def send(self, outputs: Records, dlq_records: Records) -> None:
        if self.sent is not None:
            raise AssertionError("send() twice without complete()")
        self.sent = (list(outputs), list(dlq_records))

    def complete(self, offsets: Offsets) -> bool:
        sent, self.sent = self.sent, None
        if sent is None:
            raise AssertionError("complete() without send()")
        if self.fail is not None:
            raise self.fail
        self.batches.append((*sent, list(offsets)))
        return True

    def settle_commits(self) -> None:
        pass

    def close(self) -> None:
        pass
