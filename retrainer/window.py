"""`JoinWindow`: events joined to their labels by event_id, in a bounded window of recent rows.

Pure and single-threaded (the consume loop owns it): no Kafka, no metrics. Two bounded stores:

* events awaiting a label: event_id -> features, at most `max_pending` events, none whose
  event_time is older than `max_pending_age_s`; the oldest arrival goes first (count), and the
  oldest arrivals go while they are too old (age: arrivals come roughly in event-time order, so
  a stale event behind a fresh one waits for the count bound).
* labels awaiting their event: the two topics are read in parallel, so a label can come first
  (at startup, or while the events partitions lag). Bounded like the events (`max_pending`,
  `max_pending_age_s` by the label's event_time); joined as soon as the event arrives.
* labelled rows: at most `max_rows`, none older than `max_row_age_s` by event_time.

Every eviction is reported to `on_evict(kind, n)` (kinds: `EVICTION_KINDS`); a label that
leaves the waiting labels unjoined (its event never seen or evicted, or a duplicate label) is
also counted in `unmatched`. Ages are measured against `clock()` (epoch seconds), so replaying
an old topic fills nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import pandas as pd

from common.contracts.labels import Label
from model.features import FEATURES, TARGET
from model.schema import DiamondEvent

EVICTION_KINDS: tuple[str, ...] = (
    "pending_count", "pending_age", "labels_count", "labels_age", "rows_count", "rows_age",
)
ORDER_COLUMNS: tuple[str, ...] = ("event_time", "seq")


@dataclass(frozen=True, slots=True)
class LabelledRow:
    event_id: str
    features: tuple[Any, ...]  # in `model.features.FEATURES` order
    price: float
    event_time: int  # epoch ms
    seq: int  # join order: breaks event_time ties (a producer batch shares one event_time)


def _no_evictions(kind: str, n: int) -> None:
    pass


class JoinWindow:
    """See the module docstring."""

    def __init__(
        self, *, max_pending: int, max_pending_age_s: float, max_rows: int,
        max_row_age_s: float, on_evict: Callable[[str, int], None] = _no_evictions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("max_pending", max_pending), ("max_rows", max_rows)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name, age in (("max_pending_age_s", max_pending_age_s),
                          ("max_row_age_s", max_row_age_s)):
            if not age > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {age}")
        self.max_pending = max_pending
        self.max_pending_age_s = max_pending_age_s
        self.max_rows = max_rows
        self.max_row_age_s = max_row_age_s
        self.unmatched = 0
        self._on_evict = on_evict
        self._clock = clock
        self._pending: OrderedDict[str, tuple[tuple[Any, ...], int]] = OrderedDict()
        self._labels: OrderedDict[str, Label] = OrderedDict()
        self._rows: deque[LabelledRow] = deque()
        self._seq = count()

    @property
    def pending(self) -> int:
        """Events awaiting their label."""
        return len(self._pending)

    @property
    def waiting_labels(self) -> int:
        """Labels awaiting their event."""
        return len(self._labels)

    def __len__(self) -> int:
        return len(self._rows)

    def add_event(self, event: DiamondEvent) -> LabelledRow | None:
        """Join `event` to its waiting label (the new row), or hold it until the label comes
        (None; a re-sent event replaces itself)."""
        features = tuple(getattr(event, name) for name in FEATURES)
        label = self._labels.pop(event.event_id, None)
        if label is not None:
            return self._join(event.event_id, features, event.event_time, label.price)
        self._pending.pop(event.event_id, None)
        if len(self._pending) >= self.max_pending:
            self._pending.popitem(last=False)
            self._on_evict("pending_count", 1)
        self._pending[event.event_id] = (features, event.event_time)
        return None

    def add_label(self, label: Label) -> LabelledRow | None:
        """Join `label` to its pending event (the new row), or hold it until the event comes
        (None)."""
        found = self._pending.pop(label.event_id, None)
        if found is not None:
            return self._join(label.event_id, found[0], found[1], label.price)
        self._labels.pop(label.event_id, None)
        if len(self._labels) >= self.max_pending:
            self._labels.popitem(last=False)
            self.unmatched += 1
            self._on_evict("labels_count", 1)
        self._labels[label.event_id] = label
        return None

    def _join(
        self, event_id: str, features: tuple[Any, ...], event_time: int, price: float
    ) -> LabelledRow:
        row = LabelledRow(event_id, features, price, event_time, next(self._seq))
        if len(self._rows) >= self.max_rows:
            self._rows.popleft()
            self._on_evict("rows_count", 1)
        self._rows.append(row)
        return row

    def expire(self) -> None:
        """Drop what is older than the age bounds."""
        now_ms = self._clock() * 1000.0
        cutoff = now_ms - self.max_pending_age_s * 1000.0
        dropped = 0
        while self._pending and next(iter(self._pending.values()))[1] < cutoff:
            self._pending.popitem(last=False)
            dropped += 1
        if dropped:
            self._on_evict("pending_age", dropped)
        dropped = 0
        while self._labels and next(iter(self._labels.values())).event_time < cutoff:
            self._labels.popitem(last=False)
            dropped += 1
        if dropped:
            self.unmatched += dropped
            self._on_evict("labels_age", dropped)
        cutoff = now_ms - self.max_row_age_s * 1000.0
        dropped = 0
        while self._rows and self._rows[0].event_time < cutoff:
            self._rows.popleft()
            dropped += 1
        if dropped:
            self._on_evict("rows_age", dropped)

    def rows(self) -> list[LabelledRow]:
        """A snapshot of the labelled rows, in join order."""
        return list(self._rows)


def rows_frame(rows: list[LabelledRow]) -> pd.DataFrame:
    """The rows as a frame: the features, the price (`TARGET`), event_time and seq."""
    return pd.DataFrame.from_records(
        [(*r.features, r.price, r.event_time, r.seq) for r in rows],
        columns=[*FEATURES, TARGET, *ORDER_COLUMNS],
    )
