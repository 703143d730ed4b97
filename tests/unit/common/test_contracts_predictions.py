"""The prediction contract: the batch template gives exactly the reference bytes (the consumer's
own records are checked against `orjson.dumps` in tests/unit/consumer/test_batch_outputs.py)."""

from __future__ import annotations

import orjson
import pytest

from common.contracts import predictions

T0 = 1_767_225_600_000


def test_encode_prediction_bytes_are_pinned() -> None:
    value = predictions.encode_prediction(
        event_id="e-42", predicted_price=512.25, model_version="hgb-0123456789ab",
        event_time=T0, scored_at=T0 + 123, source_partition=0, source_offset=1234,
    )
    assert value == (
        b'{"event_id":"e-42","predicted_price":512.25,"model_version":"hgb-0123456789ab",'
        b'"event_time":1767225600000,"scored_at":1767225600123,"source_partition":0,'
        b'"source_offset":1234}'
    )
    assert tuple(orjson.loads(value)) == predictions.PREDICTION_FIELDS


@pytest.mark.parametrize("model_version", ["hgb-1", '100% "tuned" é\\', "%d%b%%"])
@pytest.mark.parametrize(
    ("event_id", "price"), [("e-1", 512.3), ('q"\\é%d', 1e-7), ("x" * 128, 123456789.125)]
)
def test_the_template_matches_the_reference(model_version, event_id, price) -> None:
    template = predictions.prediction_template(model_version, T0 + 5)
    filled = template % (orjson.dumps(event_id), orjson.dumps(price), T0, 2, 99)
    assert filled == predictions.encode_prediction(
        event_id=event_id, predicted_price=price, model_version=model_version, event_time=T0,
        scored_at=T0 + 5, source_partition=2, source_offset=99,
    )

