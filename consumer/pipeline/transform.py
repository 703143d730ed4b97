"""`transform`: one batch of input messages -> predictions and dead-letter records. Pure.

No Kafka client, no metrics, no clock but the one passed in: the consume loop (`consumer.loop`)
and bench's ceiling (`bench.inprocess`) call this same function, so the ceiling measures exactly
the per-batch work of the service.

    messages --decode_batch--> ScoringBatch (valid events) --predict_isolating--> predictions
        │     (key, headers, value, event_time)           │ (bisects a ScoringError)   │
        └── rejected (reason) <-- scoring_failed <────────┘     prediction_records <──┘
              │               <-- output_rejected (record over max_record_bytes) <──┘
              └──> fitted_dead_letter (full, or minimal when even that would not fit)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from common.contracts.events import (
    EVENT_TIME_TOLERANCE_S,
    MAX_EVENT_ID_LENGTH,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_KEY_BYTES,
)
from consumer.pipeline.batch import MessageLike, ScoringBatch, decode_batch
from consumer.pipeline.decode import Rejected
from consumer.pipeline.envelope import EnvelopeLimits
from consumer.pipeline.records import (
    RECORD_OVERHEAD_BYTES,
    OutRecord,
    Source,
    fitted_dead_letter,
    prediction_records,
    record_size,
)
from consumer.pipeline.scoring import Scorer, predict_isolating

if TYPE_CHECKING:
    from consumer.settings import ConsumerSettings

DEFAULT_MESSAGE_MAX_BYTES = 1_000_000  # librdkafka's message.max.bytes
# A prediction's value without its key: the fixed fields, the longest event_id escaped as JSON
# (6 bytes per character at most) and the model version; checked per record only above this.
MAX_PREDICTION_VALUE_BYTES = 512 + 6 * MAX_EVENT_ID_LENGTH


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Where the records of a batch go, and the limits of an input and an output record."""

    input_topic: str
    output_topic: str
    dlq_topic: str
    group_id: str
    max_event_bytes: int
    max_key_bytes: int = MAX_KEY_BYTES
    max_headers: int = MAX_HEADERS
    max_header_bytes: int = MAX_HEADER_BYTES
    event_time_tolerance: float = EVENT_TIME_TOLERANCE_S  # seconds ahead of the clock
    max_record_bytes: int = DEFAULT_MESSAGE_MAX_BYTES  # the producer's message.max.bytes

    @classmethod
    def from_settings(cls, settings: ConsumerSettings) -> PipelineConfig:
        return cls(
            input_topic=settings.input_topic, output_topic=settings.output_topic,
            dlq_topic=settings.dlq_topic, group_id=settings.group_id,
            max_event_bytes=settings.max_event_bytes, max_key_bytes=settings.max_key_bytes,
            max_headers=settings.max_headers, max_header_bytes=settings.max_header_bytes,
            event_time_tolerance=settings.event_time_tolerance,
            max_record_bytes=producer_max_bytes(settings.kafka_config),
        )

    @property
    def envelope(self) -> EnvelopeLimits:
        return EnvelopeLimits(self.max_key_bytes, self.max_headers, self.max_header_bytes)


def producer_max_bytes(kafka_config: Mapping[str, Any]) -> int:
    """The producer's message.max.bytes: librdkafka's default unless kafka_config sets it."""
    value = kafka_config.get("message.max.bytes")
    if value is None:
        return DEFAULT_MESSAGE_MAX_BYTES
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    try:
        return int(text)
    except ValueError:  # librdkafka refuses it when the producer is built
        return DEFAULT_MESSAGE_MAX_BYTES


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch became: the scored batch, its records, and the rejected messages."""

    batch: ScoringBatch
    predictions: np.ndarray
    outputs: list[OutRecord]
    dead_letters: list[OutRecord]
    rejected: list[tuple[MessageLike, Rejected]]


def transform(
    messages: Sequence[MessageLike],
    *,
    scorer: Scorer,
    config: PipelineConfig,
    clock: Callable[[], float] = time.time,
    refused: Mapping[Source, int] | None = None,
) -> BatchOutcome:
    """Decode and validate `messages`, score the valid ones (one predict), build the prediction
    and dead-letter records, all in consumption order.

    Never raises for one event: a key, headers or event_time out of bounds, a model failure on
    an event (`predict_isolating`), an output record over `max_record_bytes`: each ends in a
    dead letter. `refused` maps (topic, partition, offset) to how many times the broker
    refused that event's output (`consumer.edge.delivery.OutputRejectedError`): once, its
    prediction becomes an ``output_rejected`` dead letter; once more (or an event that was
    dead-lettered anyway), a minimal dead letter."""
    now_ms = int(clock() * 1000)
    batch, rejected = decode_batch(
        config.input_topic, messages, config.max_event_bytes, envelope=config.envelope,
        latest_event_time_ms=now_ms + int(config.event_time_tolerance * 1000),
    )
    late: list[tuple[MessageLike, Rejected]] = []  # rejected after decoding, out of order
    if refused and len(batch):
        batch = _drop_refused(batch, refused, late)
    predictions, rows, failures = predict_isolating(scorer, batch.features)
    if failures:
        late.extend((batch.messages[row], Rejected("scoring_failed", error[:500]))
                    for row, error in failures)
        batch = batch.select(rows)
    outputs = prediction_records(
        config.output_topic, batch.meta, predictions, scorer.version, now_ms
    )
    if config.max_key_bytes + MAX_PREDICTION_VALUE_BYTES + RECORD_OVERHEAD_BYTES > \
            config.max_record_bytes:  # a key within its limit may still not fit: check each
        big = np.array([record_size(r) > config.max_record_bytes for r in outputs], dtype=bool)
        if big.any():
            late.extend((batch.messages[row], Rejected(
                "output_rejected", f"its prediction is {record_size(outputs[row])} bytes, over "
                f"the producer's message.max.bytes {config.max_record_bytes}"))
                for row in np.flatnonzero(big).tolist())
            keep = np.flatnonzero(~big)
            batch, predictions = batch.select(keep), predictions[keep]
            outputs = [outputs[i] for i in keep.tolist()]
    if late:
        order = {id(msg): i for i, msg in enumerate(messages)}
        rejected = sorted([*rejected, *late], key=lambda item: order[id(item[0])])
    dead_letters = [
        fitted_dead_letter(
            config.dlq_topic, msg, reason, config.group_id, now_ms,
            max_key_bytes=config.max_key_bytes, max_record_bytes=config.max_record_bytes,
            minimal=_refusals(refused, msg) > (reason.reason == "output_rejected"),
        )
        for msg, reason in rejected
    ]
    return BatchOutcome(batch, predictions, outputs, dead_letters, rejected)


def _refusals(refused: Mapping[Source, int] | None, msg: MessageLike) -> int:
    if not refused:
        return 0
    return refused.get((msg.topic(), int(msg.partition() or 0), int(msg.offset() or 0)), 0)


def _drop_refused(batch: ScoringBatch, refused: Mapping[Source, int],
                  late: list[tuple[MessageLike, Rejected]]) -> ScoringBatch:
    """The batch without the events whose output the broker refused before (into `late`)."""
    hit = np.array([_refusals(refused, msg) > 0 for msg in batch.messages], dtype=bool)
    if not hit.any():
        return batch
    for row in np.flatnonzero(hit).tolist():
        late.append((batch.messages[row], Rejected(
            "output_rejected", "the broker refused this event's output record (it is not "
            "produced again)")))
    return batch.select(np.flatnonzero(~hit))
