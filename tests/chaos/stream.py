"""The known input stream of a run and the paced producer thread that writes it.

`build_stream(n, ...)` gives n valid events from the producer's own seeded generator (keyed by
their unique event_id), optionally mixed with the poison corpus and valid events that reuse an
event_id. `StreamProducer` sends them at a steady rate from a thread with an idempotent
producer (acks=all), so a broker restart neither loses nor duplicates input records.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pandas as pd
from confluent_kafka import Producer

from common.kafka import DeliveryReports, produce_all
from common.kafka import Record as KafkaRecord
from tests.chaos.corpus import (
    PRODUCER_MAX_BYTES,
    duplicate_id_events,
    poison_corpus,
    poison_headers,
    poison_key,
)

log = logging.getLogger(__name__)

Record = tuple[bytes, bytes | None]
# how long a record may wait in (or for room in) the producer's queue: a broker restart is
# expected, so longer than any restart
QUEUE_TIMEOUT_MS = 600_000


@dataclass(frozen=True)
class Stream:
    records: list[Record]
    valid: int
    poison: dict[bytes, str]  # key -> expected dead-letter reason

    def __len__(self) -> int:
        return len(self.records)


@cache
def _rows() -> pd.DataFrame:
    from producer.events import load_test_rows

    return load_test_rows()


def build_stream(n: int, *, seed: int, run_id: str, poison: bool = False,
                 poison_rounds: int = 1, duplicate_ids: int = 0) -> Stream:
    from producer.events import EventGenerator

    batch = EventGenerator(_rows(), seed=seed, run_id=run_id).take(n)
    records: list[Record] = list(zip(batch.keys, batch.values, strict=True))
    expected: dict[bytes, str] = {}
    extra: list[Record] = []
    if poison:
        corpus = poison_corpus()
        for round_ in range(poison_rounds):
            for i, item in enumerate(corpus):
                key = poison_key(round_ * len(corpus) + i, item)
                expected[key] = item.reason
                extra.append((key, item.value))
    extra.extend(duplicate_id_events(batch.event_ids, duplicate_ids))
    rng = random.Random(seed)
    for record in extra:  # spread over the stream, order otherwise kept
        records.insert(rng.randrange(len(records) + 1), record)
    return Stream(records, valid=n + duplicate_ids, poison=expected)


class StreamProducer(threading.Thread):
    """Produce `records` at `rate` events/s (None: as fast as possible), then flush."""

    def __init__(self, bootstrap_servers: str, topic: str, records: Sequence[Record],
                 rate: float | None, chunk: int = 200) -> None:
        super().__init__(name=f"stream-{topic}", daemon=True)
        self.topic = topic
        self.records = records
        self.rate = rate
        self.chunk = chunk
        self.sent = 0
        self.reports = DeliveryReports()
        self.errors: list[str] = []  # of the thread itself (delivery errors: self.reports)
        self.done = threading.Event()
        self.started_at = 0.0
        self._producer = Producer({
            "bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "acks": "all",
            "linger.ms": 10, "message.max.bytes": PRODUCER_MAX_BYTES,
            "message.timeout.ms": QUEUE_TIMEOUT_MS, "reconnect.backoff.max.ms": 1000,
            "log_level": 2,  # a broker restart is expected: no connection noise
        })

    @property
    def delivered(self) -> int:
        return self.reports.delivered

    def run(self) -> None:
        p = self._producer
        self.started_at = start = time.monotonic()
        try:
            for first in range(0, len(self.records), self.chunk):
                if self.rate:  # poll() returns early once it served a callback: loop
                    while (wait := start + first / self.rate - time.monotonic()) > 0:
                        p.poll(min(wait, 0.1))
                chunk = self.records[first:first + self.chunk]
                self.sent += produce_all(
                    p, (KafkaRecord(self.topic, key, value, poison_headers(key))
                       for key, value in chunk),
                    timeout=QUEUE_TIMEOUT_MS / 1000, on_delivery=self.reports,
                    poll_every=len(chunk))
            while len(p) and not self.reports.failed:
                p.flush(1.0)
        except Exception as exc:  # reported by the run, never silently
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.done.set()

    def wait(self, timeout: float) -> None:
        if not self.done.wait(timeout):
            raise TimeoutError(f"the stream producer did not finish in {timeout:.0f} s "
                               f"({self.delivered}/{len(self.records)} delivered)")
        errors = self.errors + self.reports.errors
        if errors or self.delivered != len(self.records):
            raise RuntimeError(f"the stream producer failed: {self.delivered}/"
                               f"{len(self.records)} delivered, errors {errors[:3]}")
