"""The batch frame (columns, dtypes, order) and the output records (predictions, dead letters)."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from consumer_fakes import FakeMessage, encode, event

from consumer.pipeline.batch import CATEGORY_DTYPES, build_batch, decode_batch
from consumer.pipeline.decode import Rejected, decode_event
from consumer.pipeline.records import (
    DLQ_ERROR_MAX_CHARS,
    DLQ_MAX_VALUE_BYTES,
    dlq_record,
    prediction_records,
)
from model.features import FEATURES
from model.schema import DiamondEvent


def decoded(messages: list[FakeMessage]) -> list[DiamondEvent]:
    out = []
    for m in messages:
        result = decode_event(m.value(), 4096)
        assert isinstance(result, DiamondEvent)
        out.append(result)
    return out


def sample_messages() -> list[FakeMessage]:
    rows = [
        event(event_id="a", carat=0.5, cut="Fair", color="J", clarity="I1", depth=60.0),
        event(event_id="b", carat=1.5, cut="Premium", color="D", clarity="IF", table=58.0),
        event(event_id="c", carat=2.0, event_time="2026-01-01T00:00:01Z"),
    ]
    return [
        FakeMessage(encode(r), _offset=10 + i, _partition=i % 2, _key=r["event_id"].encode())
        for i, r in enumerate(rows)
    ]


def test_batch_builds_the_frame_in_order() -> None:
    messages = sample_messages()
    batch = build_batch("in", decoded(messages), messages)
    assert list(batch.features.columns) == list(FEATURES)
    assert batch.features["carat"].tolist() == [0.5, 1.5, 2.0]
    assert batch.features["cut"].tolist() == ["Fair", "Premium", "Ideal"]
    assert batch.features["clarity"].tolist() == ["I1", "IF", "SI1"]
    assert batch.features["depth"].tolist() == [60.0, 61.5, 61.5]
    assert batch.features["carat"].dtype == np.float64
    for name in CATEGORY_DTYPES:  # the schema's categories, in its order: codes, no strings
        assert batch.features[name].dtype == CATEGORY_DTYPES[name]
    fast, _ = decode_batch("in", messages, 4096)
    pd.testing.assert_frame_equal(fast.features, batch.features, check_exact=True)
    assert len(batch) == 3
    meta = batch.meta
    assert meta.topic == "in"
    assert meta.event_ids == ["a", "b", "c"]
    assert meta.keys == [b"a", b"b", b"c"]
    assert meta.offsets.tolist() == [10, 11, 12]
    assert meta.partitions.tolist() == [0, 1, 0]
    assert meta.event_times.tolist() == [1_767_225_600_000, 1_767_225_600_000, 1_767_225_601_000]


def test_empty_batch_has_the_columns_and_no_rows() -> None:
    batch = build_batch("in", [], [])
    assert list(batch.features.columns) == list(FEATURES) and len(batch.features) == 0


def test_misaligned_inputs_are_refused() -> None:
    messages = sample_messages()
    with pytest.raises(ValueError, match="must align"):
        build_batch("in", decoded(messages)[:2], messages)


def test_batch_frame_predicts_like_a_frame_built_row_by_row(tiny_model) -> None:
    import pandas as pd

    messages = sample_messages()
    batch = build_batch("in", decoded(messages), messages)
    rows = pd.DataFrame([orjson.loads(m.value() or b"") for m in messages])[list(FEATURES)]
    rows[list(FEATURES[3:])] = rows[list(FEATURES[3:])].astype(object)
    expected = tiny_model.pipeline.predict(rows)
    assert np.allclose(tiny_model.pipeline.predict(batch.features), expected)


def test_prediction_records_carry_the_schema() -> None:
    messages = sample_messages()
    batch = build_batch("in", decoded(messages), messages)
    records = prediction_records("out", batch.meta, np.array([1.0, 2.5, 3.25]), "hgb-x", 123)
    assert [r.topic for r in records] == ["out"] * 3
    assert [r.key for r in records] == [b"a", b"b", b"c"]
    assert all(r.headers is None for r in records)
    body = orjson.loads(records[1].value or b"")
    assert body == {
        "event_id": "b",
        "predicted_price": 2.5,
        "model_version": "hgb-x",
        "event_time": 1_767_225_600_000,
        "scored_at": 123,
        "source_partition": 1,
        "source_offset": 11,
    }


def test_dlq_record_keeps_the_original_and_explains() -> None:
    message = FakeMessage(b"\xffnot utf8", _offset=42, _partition=2, _topic="in", _key=b"k")
    record = dlq_record("dlq", message, Rejected("not_utf8", "bad bytes"), "scorers", 1700)
    assert record.topic == "dlq" and record.key == b"k" and record.value == b"\xffnot utf8"
    assert dict(record.headers or []) == {
        "dlq.reason": b"not_utf8",
        "dlq.error": b"bad bytes",
        "dlq.source.topic": b"in",
        "dlq.source.partition": b"2",
        "dlq.source.offset": b"42",
        "dlq.consumer.group": b"scorers",
        "dlq.failed_at": b"1700",
    }


def test_dlq_error_is_truncated_and_huge_values_are_cut() -> None:
    message = FakeMessage(b"x" * (DLQ_MAX_VALUE_BYTES + 10))
    record = dlq_record("dlq", message, Rejected("oversize", "e" * 5000), "g", 1)
    headers = dict(record.headers or [])
    assert headers["dlq.error"] == b"e" * DLQ_ERROR_MAX_CHARS
    assert record.value is not None and len(record.value) == DLQ_MAX_VALUE_BYTES
    assert headers["dlq.truncated"] == b"true"
    assert headers["dlq.original.size"] == str(DLQ_MAX_VALUE_BYTES + 10).encode()


def test_tombstone_goes_to_the_dlq_with_no_value() -> None:
    record = dlq_record("dlq", FakeMessage(None), Rejected("not_json", "tombstone"), "g", 1)
    assert record.value is None
