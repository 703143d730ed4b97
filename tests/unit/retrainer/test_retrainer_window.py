"""JoinWindow: the event-label join and its count and age bounds, every eviction counted."""

from __future__ import annotations

from collections import Counter

import pytest

from common.contracts.labels import Label
from model.features import FEATURES
from model.schema import DiamondEvent
from retrainer.window import JoinWindow, rows_frame

NOW_S = 1_800_000_000.0
NOW_MS = int(NOW_S * 1000)


def event(event_id: str, *, age_s: float = 0.0, carat: float = 0.5) -> DiamondEvent:
    return DiamondEvent(event_id=event_id, carat=carat, cut="Ideal", color="E", clarity="SI1",
                        depth=61.5, table=55.0, event_time=NOW_MS - int(age_s * 1000))


def label(event_id: str, price: float = 500.0) -> Label:
    return Label(event_id, price, NOW_MS)


def window(evictions: Counter[str], **bounds: float) -> JoinWindow:
    defaults: dict[str, float] = {"max_pending": 100, "max_pending_age_s": 60,
                                  "max_rows": 100, "max_row_age_s": 600}
    defaults.update(bounds)
    return JoinWindow(
        max_pending=int(defaults["max_pending"]),
        max_pending_age_s=defaults["max_pending_age_s"], max_rows=int(defaults["max_rows"]),
        max_row_age_s=defaults["max_row_age_s"],
        on_evict=lambda kind, n: evictions.update({kind: n}), clock=lambda: NOW_S,
    )


def test_a_label_joins_its_event_once() -> None:
    joined = window(Counter())
    assert joined.add_event(event("a", carat=0.7)) is None
    row = joined.add_label(label("a", 812.0))
    assert row is not None
    assert (row.event_id, row.price) == ("a", 812.0)
    assert row.features == (0.7, 61.5, 55.0, "Ideal", "E", "SI1")  # FEATURES order
    assert len(row.features) == len(FEATURES)
    assert joined.add_label(label("a")) is None  # a duplicate label: waits, never joins
    assert (len(joined), joined.pending, joined.waiting_labels) == (1, 0, 1)


def test_a_label_read_before_its_event_waits_for_it() -> None:
    joined = window(Counter())
    assert joined.add_label(label("b", 640.0)) is None
    assert joined.waiting_labels == 1
    row = joined.add_event(event("b", carat=0.4))
    assert row is not None and (row.price, row.features[0]) == (640.0, 0.4)
    assert (len(joined), joined.pending, joined.waiting_labels, joined.unmatched) == (1, 0, 0, 0)


def test_waiting_labels_are_bounded_and_counted_unmatched_when_dropped() -> None:
    evictions: Counter[str] = Counter()
    joined = window(evictions, max_pending=2, max_pending_age_s=60)
    for name in "abc":
        joined.add_label(label(name))
    assert evictions == {"labels_count": 1} and joined.unmatched == 1
    assert joined.add_event(event("a")) is None  # its label was dropped: the event waits
    old = Label("old", 500.0, NOW_MS - 61_000)
    joined.add_label(old)  # pushes "b" out
    joined.expire()  # "old" is too old, but waits behind the fresh "c" (oldest arrival first)
    assert joined.waiting_labels == 2 and joined.unmatched == 2
    joined.add_event(event("c"))
    joined.expire()
    assert joined.waiting_labels == 0
    assert evictions == {"labels_count": 2, "labels_age": 1} and joined.unmatched == 3


def test_pending_events_are_bounded_by_count_oldest_first() -> None:
    evictions: Counter[str] = Counter()
    joined = window(evictions, max_pending=3)
    for name in "abcde":
        joined.add_event(event(name))
    assert joined.pending == 3
    assert evictions == {"pending_count": 2}
    assert joined.add_label(label("a")) is None and joined.add_label(label("c")) is not None


def test_rows_are_bounded_by_count_oldest_first() -> None:
    evictions: Counter[str] = Counter()
    joined = window(evictions, max_rows=2)
    for name in "abc":
        joined.add_event(event(name))
        joined.add_label(label(name))
    assert [r.event_id for r in joined.rows()] == ["b", "c"]
    assert evictions == {"rows_count": 1}


def test_age_bounds_use_the_event_time() -> None:
    evictions: Counter[str] = Counter()
    joined = window(evictions, max_pending_age_s=60, max_row_age_s=120)
    joined.add_event(event("old-row", age_s=200))
    joined.add_event(event("row", age_s=100))
    joined.add_label(label("old-row"))
    joined.add_label(label("row"))
    joined.add_event(event("old-pending", age_s=61))
    joined.add_event(event("pending", age_s=59))
    joined.expire()
    assert [r.event_id for r in joined.rows()] == ["row"]
    assert joined.pending == 1
    assert evictions == {"rows_age": 1, "pending_age": 1}


def test_rows_frame_has_features_price_and_order() -> None:
    joined = window(Counter())
    for name in "ab":
        joined.add_event(event(name))
        joined.add_label(label(name))
    frame = rows_frame(joined.rows())
    assert list(frame.columns) == [*FEATURES, "price", "event_time", "seq"]
    assert frame["seq"].tolist() == [0, 1]


@pytest.mark.parametrize("bounds", [{"max_pending": 0}, {"max_rows": 0},
                                    {"max_pending_age_s": 0}, {"max_row_age_s": -1}])
def test_bad_bounds_are_refused(bounds: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bounds))):
        window(Counter(), **bounds)
