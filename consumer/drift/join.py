"""`LabelJoin`: match late ground-truth labels to the predictions this instance made.

Pure and single-threaded (the consume loop owns it); no Kafka, no Prometheus. Every operation
is O(1) per event or label, and no call does more than a bounded amount of eviction work, so a
burst of expiries never stalls a batch.

* The prediction cache: event_id -> prediction, in `GENERATIONS` plain dicts, each filled for at
  most ``ttl / GENERATIONS`` seconds or ``cache_size / GENERATIONS`` events, and dropped whole:
  when the cache would hold more than `cache_size` predictions (the oldest generation goes, so
  it holds between ``(1 - 1/GENERATIONS) * cache_size`` and `cache_size`), or when its newest
  prediction is older than `ttl` (so a prediction is kept at least `ttl`, at most
  ``ttl * (1 + 1/GENERATIONS)``). Plain dicts make caching a batch ~4x cheaper than an
  `OrderedDict`; a label looks in the few live ones (about GENERATIONS), newest first. A label
  that matches pops its entry: a prediction is joined once. An event scored twice (an
  at-least-once re-read) is found with its newest prediction.
* The pending labels: a label whose prediction is not cached *yet* (this instance is behind on
  the input partition while the labels partition is caught up) waits here, at most
  `pending_size` labels for at most `pending_wait` seconds (oldest first), and is joined as
  soon as its event is scored; at most `max_evictions` give up per call. A full buffer never
  holds the label stream back: the oldest pending label is dropped (counted unmatched) for
  each new one. `pending_matched` counts the pending labels that were joined, which tells
  `LabelFeed.should_pause` whether pausing the stream pays off.

Every label received ends in exactly one outcome, so at any time
``received == matched + unmatched + late + invalid + pending``:

=========  =================================================================================
matched    its prediction was cached (or arrived while the label was pending): joined
late       published more than `ttl` after its event_time (its Kafka timestamp minus its
           event_time): the cache only promises predictions for `ttl`, so it is not joined
unmatched  no cached prediction within `pending_wait`: never scored by this instance (another
           instance's partition, or a different partition count), dead-lettered, evicted from
           the cache by size or age, joined already (a duplicate label), or pushed out of a full
           pending buffer
invalid    not a label at all (counted by the caller, see `consumer.drift.label_feed`)
=========  =================================================================================
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields

import numpy as np

GENERATIONS = 8
MAX_EVICTIONS = 20_000


@dataclass
class LabelCounts:
    """Cumulative label outcomes since start."""

    received: int = 0
    matched: int = 0
    unmatched: int = 0
    late: int = 0
    invalid: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


LABEL_OUTCOMES = tuple(f.name for f in fields(LabelCounts))


@dataclass
class _Generation:
    started: float
    last: float
    predictions: dict[str, float] = field(default_factory=dict)


class LabelJoin:
    """Bounded prediction cache + bounded pending labels; see the module docstring."""

    def __init__(
        self,
        *,
        cache_size: int,
        ttl: float,
        pending_size: int,
        pending_wait: float,
        max_evictions: int = MAX_EVICTIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 1 or pending_size < 1 or max_evictions < 1:
            raise ValueError(
                f"cache_size, pending_size and max_evictions must be >= 1, got {cache_size}, "
                f"{pending_size}, {max_evictions}"
            )
        if not (ttl > 0 and pending_wait > 0):
            raise ValueError(f"ttl and pending_wait must be > 0 s, got {ttl}, {pending_wait}")
        self.cache_size = cache_size
        self.ttl = ttl
        self.pending_size = pending_size
        self.pending_wait = pending_wait
        self.max_evictions = max_evictions
        self.clock = clock
        self.counts = LabelCounts()
        self.evicted_size = 0
        self.evicted_ttl = 0
        self.evicted_model = 0  # dropped by `forget_predictions` (the model changed)
        self.pending_matched = 0  # pending labels joined when their event was scored
        self._ttl_ms = ttl * 1000.0
        self._slot_size = max(1, cache_size // GENERATIONS)
        self._slot_seconds = ttl / GENERATIONS
        self._generations: deque[_Generation] = deque()
        self._cached = 0  # entries over all generations
        self._pending: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._true: list[float] = []
        self._pred: list[float] = []

    @property
    def cache_len(self) -> int:
        return self._cached

    @property
    def pending_len(self) -> int:
        return len(self._pending)

    def add_predictions(self, event_ids: Sequence[str], predictions: np.ndarray) -> None:
        """Cache a committed batch's predictions; join the labels that were waiting for them."""
        preds = np.asarray(predictions, dtype=np.float64).tolist()
        if len(preds) != len(event_ids):
            raise ValueError(f"{len(event_ids)} event ids but {len(preds)} predictions")
        pending = self._pending
        if pending:
            keep_ids: list[str] = []
            keep_preds: list[float] = []
            for event_id, pred in zip(event_ids, preds, strict=True):
                waiting = pending.pop(event_id, None)
                if waiting is None:
                    keep_ids.append(event_id)
                    keep_preds.append(pred)
                else:
                    self.pending_matched += 1
                    self._match(waiting[0], pred)
            event_ids, preds = keep_ids, keep_preds
        if not preds:
            return
        now = self.clock()
        gens = self._generations
        if (
            not gens or len(gens[-1].predictions) >= self._slot_size
            or now - gens[-1].started >= self._slot_seconds
        ):
            gens.append(_Generation(now, now))
        current = gens[-1]
        before = len(current.predictions)
        current.predictions.update(zip(event_ids, preds, strict=True))
        current.last = now
        self._cached += len(current.predictions) - before
        while self._cached > self.cache_size and len(gens) > 1:
            dropped = gens.popleft()
            self._cached -= len(dropped.predictions)
            self.evicted_size += len(dropped.predictions)

    def add_labels(
        self,
        event_ids: Sequence[str],
        prices: Sequence[float],
        event_times: Sequence[int],
        published_ms: Sequence[int],
    ) -> None:
        """Join committed labels (columns, as `decode_labels` gives them); `published_ms` is
        each label's Kafka timestamp (epoch ms)."""
        now = self.clock()
        counts, pending, ttl_ms = self.counts, self._pending, self._ttl_ms
        for event_id, price, event_time, published in zip(
            event_ids, prices, event_times, published_ms, strict=True
        ):
            counts.received += 1
            if published - event_time > ttl_ms:
                counts.late += 1
                continue
            prediction = self._pop_cached(event_id)
            if prediction is not None:
                self._match(price, prediction)
                continue
            if pending.pop(event_id, None) is not None:
                counts.unmatched += 1  # a duplicate label replaces the waiting one
            pending[event_id] = (price, now)
            if len(pending) > self.pending_size:
                pending.popitem(last=False)
                counts.unmatched += 1

    def add_invalid(self, n: int) -> None:
        self.counts.received += n
        self.counts.invalid += n

    def expire(self) -> None:
        """Drop the generations whose newest prediction is older than `ttl`, and give up the
        labels pending longer than `pending_wait` (unmatched, at most `max_evictions`)."""
        now = self.clock()
        gens = self._generations
        while gens and now - gens[0].last >= self.ttl:
            dropped = gens.popleft()
            self._cached -= len(dropped.predictions)
            self.evicted_ttl += len(dropped.predictions)
        self.counts.unmatched += _expire(self._pending, now - self.pending_wait, self.max_evictions)

    def forget_predictions(self) -> None:
        """Drop every cached prediction (the model that made them is no longer served); labels
        still pending stay, for the new model's predictions."""
        self.evicted_model += self._cached
        self._generations.clear()
        self._cached = 0
        self._true, self._pred = [], []

    def take_matched(self) -> tuple[np.ndarray, np.ndarray]:
        """(y_true, y_pred) of the labels matched since the last call, for one vectorised
        `SequentialConcept.update`."""
        y_true = np.asarray(self._true, dtype=np.float64)
        y_pred = np.asarray(self._pred, dtype=np.float64)
        self._true, self._pred = [], []
        return y_true, y_pred

    def _pop_cached(self, event_id: str) -> float | None:
        for gen in reversed(self._generations):
            prediction = gen.predictions.pop(event_id, None)
            if prediction is not None:
                self._cached -= 1
                return prediction
        return None

    def _match(self, price: float, prediction: float) -> None:
        self.counts.matched += 1
        self._true.append(price)
        self._pred.append(prediction)


def _expire(entries: OrderedDict[str, tuple[float, float]], cutoff: float, limit: int) -> int:
    """Pop entries stamped at or before `cutoff` from the old end, at most `limit`."""
    removed = 0
    while entries and removed < limit:
        key = next(iter(entries))
        if entries[key][1] > cutoff:
            break
        del entries[key]
        removed += 1
    return removed
