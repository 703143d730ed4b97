"""`transform`, the pipeline's one entry point: the same records as its parts assembled by hand,
in consumption order, rejected messages dead-lettered with their reason, and no clock but the
one given."""

from __future__ import annotations

import orjson
from consumer_fakes import FakeMessage, mixed_batch

from consumer.pipeline import (
    PipelineConfig,
    Scorer,
    decode_batch,
    dlq_record,
    prediction_records,
    transform,
)
from consumer.settings import ConsumerSettings

CONFIG = PipelineConfig(input_topic="in", output_topic="out", dlq_topic="dlq", group_id="g",
                        max_event_bytes=4096)


def test_transform_matches_its_parts_assembled_by_hand(tiny_model) -> None:
    scorer = Scorer(tiny_model)
    out = transform(mixed_batch(), scorer=scorer, config=CONFIG, clock=lambda: 1_767_225_600.25)
    batch, rejected = decode_batch("in", mixed_batch(), 4096)
    predictions = scorer.predict(batch.features)
    assert out.predictions.tolist() == predictions.tolist()
    assert out.batch.meta.event_ids == ["g0", "g1", "g2"]
    assert out.outputs == prediction_records("out", batch.meta, predictions, "hgb-test",
                                             1_767_225_600_250)
    assert out.dead_letters == [dlq_record("dlq", m, r, "g", 1_767_225_600_250)
                                for m, r in rejected]
    assert [r.reason for _, r in out.rejected] == ["not_json", "unknown_category"]
    assert [orjson.loads(r.value or b"")["scored_at"] for r in out.outputs] == [
        1_767_225_600_250
    ] * 3


def test_an_all_invalid_batch_scores_nothing(tiny_model) -> None:
    out = transform([FakeMessage(b"[]"), FakeMessage(b"x", _offset=1)], scorer=Scorer(tiny_model),
                    config=CONFIG)
    assert len(out.batch) == 0 and out.outputs == [] and len(out.predictions) == 0
    assert [dict(r.headers or [])["dlq.reason"] for r in out.dead_letters] == [
        b"not_object", b"not_json"
    ]


def test_config_from_settings() -> None:
    settings = ConsumerSettings(input_topic="i", output_topic="o", dlq_topic="d", group_id="gg",
                                max_event_bytes=2048)
    assert PipelineConfig.from_settings(settings) == PipelineConfig("i", "o", "d", "gg", 2048)
