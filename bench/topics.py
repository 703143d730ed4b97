"""Topics of a benchmark run: create, fill with pre-serialised events, count, delete."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bench.exceptions import CaseError

log = logging.getLogger(__name__)


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
        futures = self.admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)],
            operation_timeout=30,
        )
        futures[name].result(timeout=30)
        self.created.append(name)
        self._wait_for_leaders(name, partitions)
        return name

    def outputs(self, prefix: str, partitions: int) -> tuple[str, str]:
        """Output and DLQ topics for one consumer run (co-partitioned with its input)."""
        return self.create(f"{prefix}.out", partitions), self.create(f"{prefix}.dlq", partitions)

    def delete(self, names: Sequence[str]) -> None:
        names = [n for n in names if n in self.created]
        if not names:
            return
        for name, future in self.admin.delete_topics(names, operation_timeout=30).items():
            try:
                future.result(timeout=30)
            except KafkaException as exc:
                log.warning("could not delete topic %s: %s", name, exc)
            self.created.remove(name)

    def close(self) -> None:
        self.delete(list(self.created))

    def _wait_for_leaders(self, name: str, partitions: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            meta = self.admin.list_topics(topic=name, timeout=5).topics.get(name)
            if (meta is not None and meta.error is None and len(meta.partitions) == partitions
                    and all(p.leader >= 0 for p in meta.partitions.values())):
                return
            time.sleep(0.1)
        raise CaseError(f"topic {name} has no leader for its {partitions} partitions")


def fill(bootstrap_servers: str, topic: str, keys: Sequence[bytes],
         values: Sequence[bytes]) -> float:
    """Produce every (key, value) durably (idempotent, acks=all); returns the seconds taken."""
    producer = Producer({
        "bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "acks": "all",
        "linger.ms": 20, "compression.type": "lz4", "batch.num.messages": 10_000,
    })
    failures: list[str] = []

    def on_delivery(err: object, _: object) -> None:
        if err is not None:
            failures.append(str(err))

    started = time.perf_counter()
    produce, poll = producer.produce, producer.poll
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        while True:
            try:
                produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                poll(0.05)
        if i % 1000 == 0:
            poll(0)
    remaining = producer.flush(60)
    if remaining or failures:
        raise CaseError(f"filling {topic}: {remaining} undelivered, {len(failures)} failed "
                        f"(first: {failures[:1]})")
    seconds = time.perf_counter() - started
    log.info("filled %s with %d events in %.1f s", topic, len(values), seconds)
    return seconds
