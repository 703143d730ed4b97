"""The label join with a fake clock: matched, late, unmatched, evictions by size and by age,
labels that arrive before their prediction, and the accounting invariant."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.drift import LabelJoin
from consumer.drift.join import GENERATIONS

T0 = 1_767_225_600_000  # event_time of every event here (epoch ms)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def make(**overrides) -> tuple[LabelJoin, Clock]:
    clock = Clock()
    params = {"cache_size": 1000, "ttl": 600.0, "pending_size": 100, "pending_wait": 60.0,
              **overrides}
    return LabelJoin(clock=clock, **params), clock


def labels(ids, price=1000.0):
    """Columns of labels published 5 s after their events."""
    n = len(ids)
    return list(ids), [price] * n, [T0] * n, [T0 + 5000] * n


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


def balanced(join: LabelJoin) -> bool:
    c = join.counts
    return c.received == c.matched + c.unmatched + c.late + c.invalid + join.pending_len


def test_matched_labels_pop_their_prediction_and_come_out_vectorised() -> None:
    join, _ = make()
    join.add_predictions(ids("e", 3), np.array([10.0, 20.0, 30.0]))
    join.add_labels(*labels(["e-2", "e-0"], price=100.0))
    y_true, y_pred = join.take_matched()
    assert y_true.tolist() == [100.0, 100.0] and y_pred.tolist() == [30.0, 10.0]
    assert join.counts.matched == 2 and join.cache_len == 1
    assert join.take_matched()[0].size == 0  # taken once
    join.add_labels(*labels(["e-0"]))  # a duplicate label: its prediction was joined already
    assert join.counts.matched == 2 and join.pending_len == 1
    assert balanced(join)


def test_late_is_judged_on_the_label_timestamp_not_on_the_cache() -> None:
    join, _ = make(ttl=600.0)
    join.add_predictions(["e-0", "e-1"], np.array([1.0, 2.0]))
    join.add_labels(["e-0", "e-1"], [5.0, 5.0], [T0, T0],
                    [T0 + 600_000, T0 + 600_001])  # exactly ttl: in time; 1 ms over: late
    assert (join.counts.matched, join.counts.late) == (1, 1)
    assert join.cache_len == 1  # a late label does not consume the prediction
    assert balanced(join)


def test_labels_before_their_prediction_wait_and_join_later() -> None:
    join, clock = make(pending_wait=60.0)
    join.add_labels(*labels(["e-0", "e-1"], price=7.0))
    assert join.pending_len == 2 and join.counts.matched == 0
    clock.now += 30
    join.expire()
    assert join.pending_len == 2  # still waiting
    join.add_predictions(["x-9", "e-1"], np.array([1.0, 2.0]))
    assert join.counts.matched == 1 and join.pending_len == 1
    assert join.take_matched()[1].tolist() == [2.0]
    assert join.cache_len == 1  # the joined prediction is not cached; x-9 is
    clock.now += 30.0
    join.expire()  # e-0 waited pending_wait: unmatched
    assert join.pending_len == 0 and join.counts.unmatched == 1
    assert balanced(join)


def test_the_pending_buffer_is_bounded() -> None:
    join, _ = make(pending_size=3)
    join.add_labels(*labels(ids("p", 5)))
    assert join.pending_len == 3 and join.counts.unmatched == 2  # the two oldest gave up
    join.add_predictions(["p-0", "p-4"], np.array([1.0, 2.0]))
    assert join.counts.matched == 1  # p-0 was pushed out, p-4 was waiting
    assert balanced(join)


def test_pending_expiry_is_bounded_per_call() -> None:
    join, clock = make(pending_size=100, max_evictions=10)
    join.add_labels(*labels(ids("p", 25)))
    clock.now += 61
    for expected in (15, 5, 0):
        join.expire()
        assert join.pending_len == expected
    assert join.counts.unmatched == 25 and balanced(join)


def test_size_evicts_the_oldest_generation() -> None:
    size = 80
    slot = size // GENERATIONS  # 10 predictions per generation
    join, _ = make(cache_size=size)
    for batch in range(8):
        join.add_predictions(ids(f"b{batch}", slot), np.arange(slot, dtype=float))
    assert join.cache_len == size and join.evicted_size == 0
    join.add_predictions(ids("b8", 5), np.zeros(5))  # over the size: the oldest 10 go
    assert join.cache_len == size - slot + 5 and join.evicted_size == slot
    join.add_labels(*labels(["b0-3", "b1-3", "b8-4"]))
    assert join.counts.matched == 2 and join.pending_len == 1  # b0-3 was evicted
    assert balanced(join)


def test_age_evicts_generations_older_than_the_ttl() -> None:
    join, clock = make(ttl=80.0)  # a new generation every 10 s
    join.add_predictions(["old"], np.array([1.0]))
    clock.now += 50
    join.add_predictions(["new"], np.array([2.0]))
    clock.now += 30
    join.expire()  # "old" is 80 s old
    assert join.cache_len == 1 and join.evicted_ttl == 1
    join.add_labels(*labels(["old", "new"]))
    assert join.counts.matched == 1 and join.pending_len == 1


def test_a_rescored_event_joins_its_newest_prediction() -> None:
    join, clock = make(ttl=80.0)
    join.add_predictions(["e"], np.array([1.0]))
    clock.now += 20  # another generation
    join.add_predictions(["e", "e"], np.array([2.0, 3.0]))
    join.add_labels(*labels(["e"]))
    assert join.take_matched()[1].tolist() == [3.0]


def test_invalid_labels_are_received_and_counted() -> None:
    join, _ = make()
    join.add_invalid(2)
    assert (join.counts.received, join.counts.invalid) == (2, 2) and balanced(join)


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        LabelJoin(cache_size=0, ttl=1, pending_size=1, pending_wait=1)
    with pytest.raises(ValueError, match="ttl and pending_wait"):
        LabelJoin(cache_size=1, ttl=0, pending_size=1, pending_wait=1)
    join, _ = make()
    with pytest.raises(ValueError, match="2 event ids but 1 predictions"):
        join.add_predictions(["a", "b"], np.array([1.0]))


def test_forget_predictions_drops_the_cache_but_keeps_pending_labels() -> None:
    join = LabelJoin(cache_size=100, ttl=60, pending_size=100, pending_wait=60)
    join.add_predictions(["a", "b"], np.array([1.0, 2.0]))
    join.add_labels(["c"], [3.0], [0], [0])  # waits for its prediction
    join.forget_predictions()
    assert join.cache_len == 0 and join.evicted_model == 2 and join.pending_len == 1
    join.add_labels(["a"], [5.0], [0], [0])  # the old model's prediction is gone
    assert join.counts.matched == 0
    join.add_predictions(["c"], np.array([4.0]))  # the new model scores the waiting one
    y_true, y_pred = join.take_matched()
    assert y_true.tolist() == [3.0] and y_pred.tolist() == [4.0]
