"""Topics of a benchmark run: create, fill with pre-serialised events, count, delete.

The Kafka work is `common.kafka`'s; its errors become `CaseError`s of the case that needed it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.exceptions import CaseError
from common.kafka import (
    DeliveryReports,
    KafkaToolkitError,
    Record,
    create_topics,
    delete_topics,
    produce_all,
)

log = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds for creating or deleting a topic
FILL_TIMEOUT = 60.0  # seconds for the final flush of a fill, and for room in a full queue


def unique(prefix: str) -> str:
    return f"bench.{prefix}.{uuid.uuid4().hex[:8]}"


class Topics:
    """Creates uniquely named topics and deletes every one of them at `close()`."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.admin = AdminClient({"bootstrap.servers": bootstrap_servers})
        self.created: list[str] = []

    def create(self, prefix: str, partitions: int) -> str:
        name = unique(prefix)
        try:
            create_topics(self.admin, [name], partitions=partitions, replication_factor=1,
                          timeout=TIMEOUT)
        except KafkaToolkitError as exc:
            raise CaseError(str(exc)) from exc
        self.created.append(name)
        return name

    def outputs(self, prefix: str, partitions: int) -> tuple[str, str]:
        """Output and DLQ topics for one consumer run (co-partitioned with its input)."""
        return self.create(f"{prefix}.out", partitions), self.create(f"{prefix}.dlq", partitions)

    def delete(self, names: Sequence[str]) -> None:
        names = [n for n in names if n in self.created]
        delete_topics(self.admin, names, timeout=TIMEOUT)
        for name in names:
            self.created.remove(name)

    def close(self) -> None:
        self.delete(list(self.created))


def fill(bootstrap_servers: str, topic: str, keys: Sequence[bytes],
         values: Sequence[bytes]) -> float:
    """Produce every (key, value) durably (idempotent, acks=all); returns the seconds taken."""
    producer = Producer({
        "bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "acks": "all",
        "linger.ms": 20, "compression.type": "lz4", "batch.num.messages": 10_000,
    })
    reports = DeliveryReports()
    started = time.perf_counter()
    try:
        produce_all(producer, (Record(topic, k, v) for k, v in zip(keys, values, strict=True)),
                    timeout=FILL_TIMEOUT, on_delivery=reports, poll_every=1000)
        reports.check(undelivered=producer.flush(FILL_TIMEOUT))
    except KafkaToolkitError as exc:
        raise CaseError(f"filling {topic}: {exc}") from exc
    seconds = time.perf_counter() - started
    log.info("filled %s with %d events in %.1f s", topic, len(values), seconds)
    return seconds
