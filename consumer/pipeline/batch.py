"""One scoring batch: the feature frame of the valid events plus their per-event metadata.

The frame is built once per batch, column by column (no per-row pandas work), in consumption
order, so `predictions[i]` belongs to `meta` row `i`. `decode_batch` is the consumer's path
(column-wise checks, `consumer.pipeline.fastpath`); `build_batch` builds the same batch from
validated `DiamondEvent`s (the reference, used by tests). The categorical columns hold
`CATEGORY_DTYPES` (the schema's categories, in its order), built from codes: the scorer's
preprocessing, the drift monitors and the loss model read the codes, and no one hashes the
strings of a batch again (`Series.tolist()` still gives the strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from consumer.pipeline.decode import Rejected
from consumer.pipeline.envelope import EnvelopeLimits, check_envelopes
from consumer.pipeline.fastpath import CODES, decode_values
from model.features import CATEGORICAL_FEATURES, CATEGORIES, FEATURES, NUMERIC_FEATURES
from model.schema import DiamondEvent

# The categorical columns of a batch frame: the schema's categories, in its order, so a
# column's codes are known without hashing its strings (`Series.cat.codes`).
CATEGORY_DTYPES = {name: pd.CategoricalDtype(CATEGORIES[name]) for name in CATEGORICAL_FEATURES}


class MessageLike(Protocol):
    """The part of `confluent_kafka.Message` the service reads."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> Any: ...  # list of (name, value) pairs, or None


@dataclass(frozen=True)
class BatchMeta:
    """Per-event metadata of a batch's valid events, aligned with the feature frame rows."""

    topic: str
    keys: list[bytes | None]
    partitions: np.ndarray  # int32
    offsets: np.ndarray  # int64
    event_ids: list[str]
    event_times: np.ndarray  # int64, epoch milliseconds

    def __len__(self) -> int:
        return len(self.event_ids)

    def select(self, rows: np.ndarray) -> BatchMeta:
        """The metadata of `rows` (int indices, in order)."""
        keep = rows.tolist()
        return BatchMeta(self.topic, [self.keys[i] for i in keep], self.partitions[rows],
                         self.offsets[rows], [self.event_ids[i] for i in keep],
                         self.event_times[rows])


@dataclass(frozen=True)
class ScoringBatch:
    """The valid events: features, metadata and their messages, row `i` the same event."""

    features: pd.DataFrame
    meta: BatchMeta
    messages: Sequence[MessageLike] = ()

    def __len__(self) -> int:
        return len(self.meta)

    def select(self, rows: np.ndarray) -> ScoringBatch:
        """The sub-batch of `rows` (int indices, in order)."""
        keep = rows.tolist()
        features = self.features.iloc[rows].reset_index(drop=True)
        messages = [self.messages[i] for i in keep] if self.messages else ()
        return ScoringBatch(features, self.meta.select(rows), messages)


def build_batch(
    topic: str, events: Sequence[DiamondEvent], messages: Sequence[MessageLike]
) -> ScoringBatch:
    """The frame (columns in `model.features.FEATURES` order) and metadata of valid events."""
    if len(events) != len(messages):
        raise ValueError(f"{len(events)} events but {len(messages)} messages: they must align")
    n = len(events)
    numeric = {
        name: np.fromiter((getattr(e, name) for e in events), dtype=np.float64, count=n)
        for name in NUMERIC_FEATURES
    }
    categorical = {
        name: np.fromiter((CODES[name][getattr(e, name)] for e in events), dtype=np.int8, count=n)
        for name in CATEGORICAL_FEATURES
    }
    event_times = np.fromiter((e.event_time for e in events), dtype=np.int64, count=n)
    return _batch(topic, messages, [e.event_id for e in events], numeric, categorical,
                  event_times)


def decode_batch(
    topic: str,
    messages: Sequence[MessageLike],
    max_bytes: int,
    *,
    envelope: EnvelopeLimits | None = None,
    latest_event_time_ms: int | None = None,
) -> tuple[ScoringBatch, list[tuple[MessageLike, Rejected]]]:
    """Decode and validate a batch: the scoring batch of the valid events and the rejected
    messages with their reasons, both in consumption order. Same decisions, reasons and values
    as `decode_event` on each message, checked column-wise (`consumer.pipeline.fastpath`).

    With `envelope`, keys and headers are checked first (`consumer.pipeline.envelope`); with
    `latest_event_time_ms`, a later event_time is ``invalid_event_time``."""
    index_rejected: list[tuple[int, Rejected]] = []
    candidates: Sequence[int] = range(len(messages))
    if envelope is not None:
        index_rejected = check_envelopes(messages, envelope)
        if index_rejected:
            refused = {i for i, _ in index_rejected}
            candidates = [i for i in candidates if i not in refused]
    to_decode = messages if not index_rejected else [messages[i] for i in candidates]
    columns = decode_values([m.value() for m in to_decode], max_bytes)
    valid_idx: Sequence[int] = candidates
    valid: Sequence[MessageLike] = messages
    if columns.rejected or index_rejected:
        valid_idx = [candidates[i] for i in columns.valid.tolist()]
        valid = [messages[i] for i in valid_idx]
        index_rejected.extend((candidates[i], reason) for i, reason in columns.rejected)
    batch = _batch(topic, valid, columns.event_ids, columns.numeric, columns.categorical,
                   columns.event_times)
    if latest_event_time_ms is not None and len(batch):
        future = batch.meta.event_times > latest_event_time_ms
        if future.any():
            for row in np.flatnonzero(future).tolist():
                ahead = (int(batch.meta.event_times[row]) - latest_event_time_ms) / 1000
                index_rejected.append((valid_idx[row], Rejected(
                    "invalid_event_time",
                    f"event_time {int(batch.meta.event_times[row])} ms is {ahead:.0f} s beyond "
                    "the tolerated future (now + --event-time-tolerance)")))
            batch = batch.select(np.flatnonzero(~future))
    if len(index_rejected) > 1:
        index_rejected.sort(key=lambda item: item[0])
    return batch, [(messages[i], reason) for i, reason in index_rejected]


def _batch(
    topic: str, messages: Sequence[MessageLike], event_ids: list[str],
    numeric: dict[str, np.ndarray], categorical: dict[str, np.ndarray], event_times: np.ndarray,
) -> ScoringBatch:
    n = len(messages)
    categories = {name: pd.Categorical.from_codes(codes, dtype=CATEGORY_DTYPES[name])
                  for name, codes in categorical.items()}
    features = pd.DataFrame({**numeric, **categories}, columns=list(FEATURES))
    meta = BatchMeta(
        topic=topic,
        keys=[m.key() for m in messages],
        partitions=np.fromiter((m.partition() for m in messages), dtype=np.int32, count=n),
        offsets=np.fromiter((m.offset() for m in messages), dtype=np.int64, count=n),
        event_ids=event_ids,
        event_times=event_times,
    )
    return ScoringBatch(features, meta, messages)
