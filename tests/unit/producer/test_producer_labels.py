"""LabelQueue: FIFO by due time, bounded, payloads keyed by event_id."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from producer import EventGenerator, LabelQueue


@pytest.fixture
def gen(test_rows: pd.DataFrame) -> EventGenerator:
    return EventGenerator(test_rows, run_id="q")


def test_labels_are_released_after_their_delay_only(gen: EventGenerator) -> None:
    queue = LabelQueue(delay=5.0, max_pending=100)
    first, second = gen.take(3, event_time=1000), gen.take(2, event_time=2000)
    queue.add(first, sent_at=10.0)
    queue.add(second, sent_at=11.0)
    assert len(queue) == 5 and queue.room == 95 and queue.next_due == 15.0
    assert list(queue.pop_due(14.999)) == []
    released = list(queue.pop_due(15.0))
    assert [key for key, _ in released] == first.keys
    assert [orjson.loads(v) for _, v in released] == [
        {"event_id": eid, "price": price, "event_time": 1000}
        for eid, price in zip(first.event_ids, first.prices, strict=True)
    ]
    assert len(queue) == 2 and queue.next_due == 16.0
    assert len(list(queue.pop_due(None))) == 2  # None: everything, due or not
    assert len(queue) == 0 and queue.next_due is None


def test_queue_is_bounded(gen: EventGenerator) -> None:
    queue = LabelQueue(delay=1.0, max_pending=10)
    queue.add(gen.take(10), sent_at=0.0)
    assert queue.room == 0
    with pytest.raises(ValueError, match="1 labels do not fit: room for 0"):
        queue.add(gen.take(1), sent_at=0.0)
    queue.add(gen.take(0), sent_at=0.0)  # an empty batch is a no-op


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"delay": -1.0, "max_pending": 1}, "delay must be >= 0 seconds, got -1.0"),
     ({"delay": 1.0, "max_pending": 0}, "max_pending must be >= 1, got 0")],
)
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LabelQueue(**kwargs)
