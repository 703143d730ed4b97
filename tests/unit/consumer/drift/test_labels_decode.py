"""Decoding label messages: the producer's own labels pass, anything else is invalid (never an
exception), with a message naming the bad value."""

from __future__ import annotations

import orjson
import pytest

from consumer.drift import InvalidLabel, Label, decode_label, decode_labels
from producer.events import EventGenerator
from producer.labels import LabelQueue

T0 = 1_767_225_600_000


def test_the_producer_labels_decode(event_rows_small) -> None:
    gen = EventGenerator(event_rows_small, seed=3, run_id="r")
    queue = LabelQueue(delay=0, max_pending=100)
    batch = gen.take(5, event_time=T0)
    queue.add(batch, sent_at=0.0)
    decoded = [decode_label(value) for _, value in queue.pop_due(None)]
    assert decoded == [
        Label(event_id, float(price), T0)
        for event_id, price in zip(batch.event_ids, batch.prices, strict=True)
    ]


@pytest.fixture
def event_rows_small():
    import pandas as pd

    return pd.DataFrame({
        "carat": [0.3, 1.1], "cut": ["Ideal", "Good"], "color": ["E", "J"],
        "clarity": ["SI1", "VS2"], "depth": [61.0, 62.5], "table": [55.0, 58.0],
        "price": [500, 4200],
    })


def good(**changes) -> bytes:
    return orjson.dumps({"event_id": "e-1", "price": 512, "event_time": T0, **changes})


def test_iso_time_float_price_and_extra_fields_are_accepted() -> None:
    assert decode_label(good(price=512.5, event_time="2026-01-01T00:00:00Z", note="x")) == Label(
        "e-1", 512.5, T0
    )


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (None, "tombstone"),
        (b"x" * 5000, "limit"),
        (b"{nope", "not valid JSON"),
        (b"[1]", "JSON object"),
        (good(event_id=""), "event_id"),
        (good(event_id=7), "event_id"),
        (orjson.dumps({"price": 1, "event_time": T0}), "event_id"),
        (good(price="512"), "price"),
        (good(price=True), "price"),
        (good(price=0), "price"),
        (good(price=-3), "price"),
        (good(price=None), "price"),
        (good().replace(b"512", b"NaN"), "not valid JSON"),
        (orjson.dumps({"event_id": "e", "price": 1}), "event_time is missing"),
        (good(event_time="tomorrow"), "event_time"),
        (good(event_time=1_767_225_600), "event_time"),  # seconds, not ms
    ],
)
def test_invalid_labels(value, match) -> None:
    result = decode_label(value)
    assert isinstance(result, InvalidLabel)
    assert match in result.error


def test_the_batch_decoder_agrees_with_the_reference() -> None:
    """`decode_labels` takes the common form inline and the rest through `decode_label`: same
    labels, same refusals, in message order."""
    values: list[bytes | None] = [
        good(), good(price=512.25), good(event_id="x" * 128), good(event_id="x" * 129),
        good(event_time="2026-01-01T00:00:00Z"), good(event_time=float(T0)), good(price=0),
        good(price=True), good(price=1e309), good(event_time=True), None, b"[]", b'"s"', b"7",
        b"{bad", good(event_time=10**13), orjson.dumps({"event_id": "a", "price": 1}),
        good(extra={"nested": [1, 2]}), b"x" * 5000,
    ]
    batch = decode_labels(values)
    reference = [decode_label(v) for v in values]
    accepted = [(i, r) for i, r in enumerate(reference) if isinstance(r, Label)]
    assert batch.positions == [i for i, _ in accepted]
    assert list(zip(batch.event_ids, batch.prices, batch.event_times, strict=True)) == [
        (r.event_id, r.price, r.event_time) for _, r in accepted
    ]
    assert batch.invalid == [
        (i, r.error) for i, r in enumerate(reference) if isinstance(r, InvalidLabel)
    ]
    assert len(batch) == 6 and all(type(p) is float for p in batch.prices)
