"""Labels that cannot hurt (issue 12): an absurd price is invalid, one label moves the concept
window by a bounded amount, and a flood of labels that never match does not hold real ones."""

from __future__ import annotations

import math
from collections import deque
from types import SimpleNamespace

import numpy as np
import orjson
import pytest
from consumer_fakes import FakeMessage
from prometheus_client import CollectorRegistry

from consumer.drift import ConceptFeed, DriftMetrics, LabelFeed, LabelJoin
from consumer.drift.label_feed import ERROR_CAP
from consumer.drift.labels import decode_labels, max_label_price
from drift import ReferenceProfile, SequentialConcept
from model.features import CATEGORIES, FEATURES, NUMERIC_FEATURES

LABELS = "labels"
EVENT_TIME = 1_767_225_600_000
TARGET_MAX = 18_823.0  # the largest price of the diamonds data
MAX_PRICE = 100 * TARGET_MAX


class Message(FakeMessage):
    def timestamp(self) -> tuple[int, int]:
        return (1, EVENT_TIME + 5000)  # TIMESTAMP_CREATE_TIME, 5 s after the event


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def label(event_id: str, price: float | str, offset: int = 0) -> Message:
    raw = f'{{"event_id":"{event_id}","price":{price},"event_time":{EVENT_TIME}}}'.encode()
    return Message(raw, _offset=offset, _topic=LABELS)


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    rng = np.random.default_rng(11)
    n = 3000
    frame = {name: rng.normal(1.0, 0.3, n) for name in NUMERIC_FEATURES}
    for name, categories in CATEGORIES.items():
        frame[name] = rng.choice(np.array(categories, dtype=object), size=n)
    import pandas as pd

    data = pd.DataFrame(frame)[list(FEATURES)]
    return ReferenceProfile.build(
        data.iloc[:2000], numeric=list(NUMERIC_FEATURES), categorical=dict(CATEGORIES),
        holdout=data.iloc[2000:], reference_predictions=rng.uniform(500, 5000, 1000),
        reference_errors=rng.normal(0, 300, 1000), seed=3,
    )


def make_feed(
    profile: ReferenceProfile | None = None, *, pending_size: int = 1000, headroom: int = 0,
    max_price: float = MAX_PRICE,
) -> LabelFeed:
    join = LabelJoin(cache_size=100_000, ttl=600, pending_size=pending_size, pending_wait=60,
                     clock=Clock())
    concept = None
    if profile is not None:
        concept = ConceptFeed(SequentialConcept(profile))
    metrics = DriftMetrics(CollectorRegistry(), ("carat",))
    return LabelFeed(join, metrics, labels_topic=LABELS, headroom=headroom, concept=concept,
                     wall=lambda: EVENT_TIME / 1000 + 10, max_price=max_price)


# -- 12.3: the price bound and the clipped error ---------------------------------------------


@pytest.mark.parametrize("price", ["1e300", "-5", "0", str(MAX_PRICE * 1.01), "1e309"])
def test_prices_out_of_bounds_are_invalid(price: str) -> None:
    decoded = decode_labels([label("e-1", price).value()], max_price=MAX_PRICE)
    assert len(decoded) == 0 and [index for index, _ in decoded.invalid] == [0]


def test_prices_within_bounds_are_valid_in_both_decoders() -> None:
    values = [label("e-1", MAX_PRICE).value(), label("e-2", 0.5).value(),
              orjson.dumps({"event_id": "e-3", "price": 1e5, "event_time": "2026-01-01T00:00Z"})]
    decoded = decode_labels(values, max_price=MAX_PRICE)
    assert decoded.prices == [MAX_PRICE, 0.5, 1e5] and decoded.invalid == []
    late_form = orjson.dumps({"event_id": "e-4", "price": 1e7, "event_time": "2026-01-01T00:00Z"})
    assert len(decode_labels([late_form], max_price=MAX_PRICE).invalid) == 1  # the slow path too


def test_the_bound_comes_from_the_model_and_is_off_without_one() -> None:
    assert max_label_price(SimpleNamespace(target_max=TARGET_MAX), 100) == MAX_PRICE
    assert max_label_price(SimpleNamespace(version="old"), 100) == math.inf


def test_one_absurd_label_after_999_normal_ones_trips_nothing(profile: ReferenceProfile) -> None:
    feed = make_feed(profile)
    rng = np.random.default_rng(1)
    preds = rng.uniform(1000, 5000, 1000)
    truth = preds + rng.normal(0, 300, 1000)  # errors as in the reference
    ids = [f"e-{i}" for i in range(1000)]
    feed.add_predictions(ids, preds)
    feed.on_labels([label(ids[i], f"{truth[i]:.2f}", i) for i in range(999)])
    feed.on_labels([label(ids[999], "1e300", 999)])
    feed.after_batch()
    assert feed.concept is not None
    report = feed.concept.concept.evaluate()
    assert feed.counts.invalid == 1 and feed.counts.matched == 999
    assert math.isfinite(report.mae_ratio) and report.mae_ratio < 1.5
    assert not report.drift_detected


def test_one_label_moves_the_mae_by_at_most_its_cap(profile: ReferenceProfile) -> None:
    feed = make_feed(profile)
    assert feed.concept is not None
    concept = feed.concept.concept
    rng = np.random.default_rng(2)
    preds = rng.uniform(1000, 5000, 1001)
    truth = preds + rng.normal(0, 300, 1001)
    ids = [f"e-{i}" for i in range(1001)]
    feed.add_predictions(ids, preds)
    feed.on_labels([label(ids[i], f"{truth[i]:.2f}", i) for i in range(999)])
    feed.after_batch()
    reference = profile.errors.mae  # type: ignore[union-attr]
    before = concept.evaluate().mae_ratio * reference  # the MAE of these 999 labels
    feed.on_labels([label(ids[i], f"{truth[i]:.2f}", i) for i in range(999, 1000)])
    feed.on_labels([label(ids[1000], MAX_PRICE, 1000)])  # the largest price still valid
    feed.after_batch()
    cap = ERROR_CAP * reference
    normal = abs(truth[999] - preds[999])
    # the second report covers two labels: one normal error and the absurd one, clipped
    assert concept.evaluate().mae_ratio * reference == pytest.approx((normal + cap) / 2)
    assert before < cap and not concept.evaluate().drift_detected


# -- 12.10: a flood of labels that never match ------------------------------------------------


def run_stream(feed: LabelFeed, stream: deque[Message], rounds: int, *, take: int,
               score: list[list[str]], arrive: list[list[Message]] | None = None) -> int:
    """The consume loop in miniature, one round a second: each round scores its events
    (`score[r]`), the labels of `arrive[r]` reach Kafka, and (unless paused) up to `take`
    labels are read; the pause is asked after each round. Returns the rounds paused."""
    paused = False
    paused_rounds = 0
    clock = feed.join.clock
    assert isinstance(clock, Clock)
    for r in range(rounds):
        clock.now += 1.0
        if r < len(score):
            feed.add_predictions(score[r], np.full(len(score[r]), 1000.0))
        if arrive is not None and r < len(arrive):
            stream.extend(arrive[r])
        if not paused and stream:
            feed.on_labels([stream.popleft() for _ in range(min(take, len(stream)))])
        feed.after_batch()
        paused = feed.should_pause()
        paused_rounds += paused
    return paused_rounds


def test_real_labels_keep_flowing_under_a_flood_of_junk() -> None:
    feed = make_feed(pending_size=100, headroom=20)  # pause above 80 pending
    score: list[list[str]] = []
    arrive: list[list[Message]] = []
    for r in range(50):  # each second: 2 events scored, then their labels among 18 junk ones
        real = [f"real-{r}-{k}" for k in range(2)]
        score.append(real)
        arrive.append([*(label(f"junk-{r}-{k}", 900) for k in range(18)),
                       *(label(event_id, 1000) for event_id in real)])
    stream: deque[Message] = deque()
    # before: paused until the junk expired after label_pending_wait (60 s), again and again
    paused = run_stream(feed, stream, 70, take=40, score=score, arrive=arrive)
    assert feed.counts.matched == 100  # every real label joined
    assert paused <= feed.pause_patience and not stream  # one bounded pause, at the start
    # the junk was pushed out of the full buffer oldest first, counted unmatched
    assert feed.counts.unmatched == 900 - feed.join.pending_len
    assert feed.join.pending_len == 100


def test_labels_ahead_of_their_events_still_wait_in_kafka_rather_than_being_dropped() -> None:
    feed = make_feed(pending_size=100, headroom=60)  # pause above 40 pending, resume at 20
    ids = [f"e-{i}" for i in range(500)]
    stream = deque(label(event_id, 1000) for event_id in ids)  # labels read 3x as fast...
    score = [ids[i:i + 20] for i in range(0, 500, 20)]  # ...as their events are scored
    paused = run_stream(feed, stream, 40, take=60, score=score)
    assert paused > 0
    assert feed.counts.matched == 500 and feed.counts.unmatched == 0
