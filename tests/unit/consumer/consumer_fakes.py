"""Fakes at the boundary for the consumer unit tests: Kafka messages, a consumer's offset API,
a recording sink and a model stand-in. No broker, no artifact on disk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import TopicPartition

from consumer.pipeline.records import OutRecord

GOOD: dict[str, Any] = {
    "event_id": "e-1",
    "carat": 0.31,
    "cut": "Ideal",
    "color": "E",
    "clarity": "SI1",
    "depth": 61.5,
    "table": 55.0,
    "event_time": 1_767_225_600_000,
}


def event(**changes: Any) -> dict[str, Any]:
    out = dict(GOOD)
    out.update(changes)
    return out


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


@dataclass(frozen=True)
class FakeModel:
    pipeline: Any
    version: str = "hgb-test"
    model_type: str = "hgb"
    sha256: str = "0" * 64


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

    def write_batch(
        self,
        outputs: Sequence[OutRecord],
        dlq_records: Sequence[OutRecord],
        offsets: Sequence[TopicPartition],
    ) -> bool:
        if self.fail is not None:
            raise self.fail
        self.batches.append((list(outputs), list(dlq_records), list(offsets)))
        return True

    def close(self) -> None:
        pass
