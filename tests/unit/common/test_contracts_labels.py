"""The label contract: pinned bytes, the producer writes what the consumer reads."""

from __future__ import annotations

import orjson
import pytest

from common.contracts import labels
from common.contracts.events import MAX_EVENT_ID_LENGTH, MAX_EVENT_TIME_MS
from consumer.drift import decode_labels
from producer.events import EventGenerator
from producer.labels import LabelQueue
from tests.samples import T0, two_rows


def test_encode_label_bytes_are_pinned() -> None:
    assert labels.encode_label("e-42", 512, T0) == (
        b'{"event_id":"e-42","price":512,"event_time":1767225600000}'
    )
    assert tuple(orjson.loads(labels.encode_label("e", 1.5, T0))) == labels.LABEL_FIELDS


@pytest.mark.parametrize(
    ("event_id", "price", "event_time"),
    [("e-1", 512, T0), ("é\"\\", 0.01, MAX_EVENT_TIME_MS), ("x" * MAX_EVENT_ID_LENGTH, 1e9, T0)],
)
def test_what_is_encoded_decodes_to_the_same_label(event_id, price, event_time) -> None:
    value = labels.encode_label(event_id, price, event_time)
    assert labels.decode_label(value) == labels.Label(event_id, float(price), event_time)
    columns = decode_labels([value])  # the consumer's batch path agrees
    assert (columns.event_ids, columns.prices, columns.event_times) == (
        [event_id], [float(price)], [event_time],
    )


@pytest.mark.parametrize(
    "value",
    [
        labels.encode_label("x" * (MAX_EVENT_ID_LENGTH + 1), 1, T0),
        labels.encode_label("e", 0, T0),
        labels.encode_label("e", 1, MAX_EVENT_TIME_MS + 1),
        b"x" * (labels.MAX_LABEL_BYTES + 1),
    ],
)
def test_outside_the_bounds_is_invalid_never_an_exception(value) -> None:
    assert isinstance(labels.decode_label(value), labels.InvalidLabel)
    assert len(decode_labels([value]).invalid) == 1


def test_the_producer_queue_writes_encode_label_bytes() -> None:
    batch = EventGenerator(two_rows(), seed=3, run_id="r").take(4, event_time=T0)
    queue = LabelQueue(delay=0, max_pending=10)
    queue.add(batch, sent_at=0.0)
    assert list(queue.pop_due(None)) == [
        (key, labels.encode_label(event_id, price, T0))
        for key, event_id, price in zip(batch.keys, batch.event_ids, batch.prices, strict=True)
    ]
