"""Delayed ground truth: hold each event's true price back for `delay` seconds, then publish it.

A label (`common.contracts.labels`) is ``{"event_id": ..., "price": <int>, "event_time": <the
event's epoch ms>}`` keyed by the event_id, so with the default partitioner and equal partition
counts it lands in the same partition number as its event. Its Kafka timestamp is the moment it
is published, so ``label timestamp - event_time >= delay``.

The queue is bounded: it holds at most `max_pending` labels, and `room` tells the producer how
many events it may send now. When the queue is full the producer waits for the oldest labels to
come due instead of growing without bound (at `--rate 0` this caps the event rate at about
``max_pending / delay``). Labels are kept per event batch (one due time per batch) so a pending
label costs a few list slots, not an object.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from common.contracts.labels import encode_label
from producer.events import EventBatch


@dataclass(frozen=True, slots=True)
class _PendingBatch:
    due: float  # monotonic seconds
    event_time: int
    event_ids: list[str]
    keys: list[bytes]
    prices: list[int]


class LabelQueue:
    """FIFO of labels waiting for their delay, bounded by `max_pending` labels."""

    def __init__(self, *, delay: float, max_pending: int) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.delay = delay
        self.max_pending = max_pending
        self._batches: deque[_PendingBatch] = deque()
        self._pending = 0

    def __len__(self) -> int:
        return self._pending

    @property
    def room(self) -> int:
        """How many more labels fit: the producer sends at most this many events now."""
        return self.max_pending - self._pending

    @property
    def next_due(self) -> float | None:
        """Monotonic time at which the oldest pending label is due, or None when empty."""
        return self._batches[0].due if self._batches else None

    def add(self, batch: EventBatch, *, sent_at: float) -> None:
        """Hold the labels of `batch`, sent at monotonic time `sent_at`."""
        if len(batch) > self.room:
            raise ValueError(f"{len(batch)} labels do not fit: room for {self.room}")
        if len(batch):
            self._batches.append(_PendingBatch(
                sent_at + self.delay, batch.event_time, batch.event_ids, batch.keys, batch.prices
            ))
            self._pending += len(batch)

    def pop_due(self, now: float | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, payload) of every label due at `now` (all of them when `now` is None)."""
        while self._batches and (now is None or self._batches[0].due <= now):
            pending = self._batches.popleft()
            self._pending -= len(pending.keys)
            event_time = pending.event_time
            for event_id, key, price in zip(
                pending.event_ids, pending.keys, pending.prices, strict=True
            ):
                yield key, encode_label(event_id, price, event_time)
