"""Cases run inside the bench process: the ceiling (no Kafka), the consumer end to end through
the broker (`run_consumer`), and the naive one-message-at-a-time loop.

End-to-end timing excludes startup (model load, broker check, group join): `CommitClock`, a
batch observer, records when each batch is committed; the run starts when the first batch's
messages were returned by `consume()` (its commit time minus its `batch_duration`) and ends at
the last batch's commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
from confluent_kafka import Consumer, Message, Producer
from prometheus_client import CollectorRegistry
from threadpoolctl import threadpool_limits

from bench.exceptions import CaseError
from consumer import ConsumerSettings, run_consumer
from consumer.pipeline import (
    BatchMeta,
    ModelLike,
    PipelineConfig,
    Rejected,
    Scorer,
    decode_event,
    transform,
)
from model.features import FEATURES

log = logging.getLogger(__name__)


def ceiling(
    keys: Sequence[bytes], values: Sequence[bytes], model: ModelLike, batch_size: int,
    max_event_bytes: int,
) -> float:
    """Events/s of the consumer's own per-batch work without Kafka: its public pipeline function
    `consumer.pipeline.transform` (decode, validate, build the batch, one predict, the
    prediction and dead-letter records) on each batch of in-memory `confluent_kafka.Message`s
    (what `consume()` returns)."""
    messages = [Message(topic="bench.in", partition=i % 3, offset=i, key=k, value=v)
                for i, (k, v) in enumerate(zip(keys, values, strict=True))]
    scorer = Scorer(model, 1)
    config = PipelineConfig(input_topic="bench.in", output_topic="bench.out",
                            dlq_topic="bench.dlq", group_id="bench",
                            max_event_bytes=max_event_bytes)
    started = time.perf_counter()
    for i in range(0, len(messages), batch_size):
        transform(messages[i:i + batch_size], scorer=scorer, config=config)
    return len(messages) / (time.perf_counter() - started)


class CommitClock:
    """Batch observer: the time span from the first consumed batch to the last commit."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.first: float | None = None
        self.last: float | None = None
        self.batches = 0

    def on_batch(self, features: pd.DataFrame, predictions: np.ndarray, meta: BatchMeta) -> None:
        now = time.perf_counter()
        if self.first is None:
            spent = self.registry.get_sample_value("diamond_batch_duration_seconds_sum") or 0.0
            self.first = now - spent
        self.last = now
        self.batches += 1

    @property
    def seconds(self) -> float:
        if self.first is None or self.last is None or self.last <= self.first:
            raise CaseError("no batch was committed: nothing to time")
        return self.last - self.first


@dataclass(frozen=True)
class E2EResult:
    eps: float
    events: int
    seconds: float
    batches: int
    dead_lettered: int
    retries: int
    scoring_seconds: float = 0.0  # the champion's predicts, summed
    shadow_seconds: float = 0.0  # the challenger's (shadow) predicts, summed
    shadow_batches: int = 0  # batches the challenger scored


def e2e(settings: ConsumerSettings, model: ModelLike, events: int) -> E2EResult:
    """Run the consumer in this thread until `events` are committed; time it (see module doc)."""
    registry = CollectorRegistry()
    clock = CommitClock(registry)
    summary = run_consumer(settings, registry=registry, observers=[clock], model=model)
    if summary.consumed != events:
        raise CaseError(f"the consumer committed {summary.consumed} events, expected {events}")
    seconds = clock.seconds
    value = registry.get_sample_value
    return E2EResult(
        events / seconds, events, seconds, summary.batches, summary.dead_lettered,
        summary.retries, value("diamond_scoring_duration_seconds_sum") or 0.0,
        value("diamond_shadow_scoring_seconds_sum") or 0.0,
        int(value("diamond_shadow_scoring_seconds_count") or 0),
    )


def naive(bootstrap_servers: str, topic: str, output_topic: str, group_id: str,
          model: ModelLike, events: int, max_event_bytes: int, threads: int | None = 1) -> float:
    """The textbook loop, one message at a time: poll, validate, predict one row, produce,
    flush, synchronous commit. Timed from the first message received to the last commit.

    `threads` caps OpenMP/BLAS like the consumer's `Scorer` (None: no cap; a one-row predict
    then waits on idle OpenMP threads competing with the broker, ~10x slower on 2 cores)."""
    with threadpool_limits(limits=threads):  # limits=None changes nothing
        return _naive(bootstrap_servers, topic, output_topic, group_id, model, events,
                      max_event_bytes)


def _naive(bootstrap_servers: str, topic: str, output_topic: str, group_id: str,
           model: ModelLike, events: int, max_event_bytes: int) -> float:
    consumer = Consumer({
        "bootstrap.servers": bootstrap_servers, "group.id": group_id,
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    })
    producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                         "acks": "all"})
    pipeline, version = model.pipeline, model.version
    consumer.subscribe([topic])
    done = 0
    started: float | None = None
    deadline = time.monotonic() + 120
    try:
        while done < events:
            if time.monotonic() > deadline:
                raise CaseError(f"naive loop: only {done} of {events} events in 120 s")
            msg = consumer.poll(1.0)
            if msg is None or msg.error() is not None:
                continue
            if started is None:
                started = time.perf_counter()
            event = decode_event(msg.value(), max_event_bytes)
            if isinstance(event, Rejected):
                raise CaseError(f"naive loop: unexpected invalid event: {event}")
            row = pd.DataFrame([event.model_dump()])[list(FEATURES)]
            price = float(pipeline.predict(row)[0])
            value: dict[str, Any] = {
                "event_id": event.event_id, "predicted_price": price, "model_version": version,
                "event_time": event.event_time, "scored_at": int(time.time() * 1000),
                "source_partition": msg.partition(), "source_offset": msg.offset(),
            }
            producer.produce(output_topic, orjson.dumps(value), msg.key())
            if producer.flush(30) != 0:
                raise CaseError("naive loop: a prediction was not delivered in 30 s")
            consumer.commit(message=msg, asynchronous=False)
            done += 1
    finally:
        consumer.close()
    assert started is not None
    return events / (time.perf_counter() - started)
