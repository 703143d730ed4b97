"""The broker a benchmark runs on: a `LocalBroker` on free ports in a temp dir (always stopped
and removed), or an external one given by `--bootstrap-servers` (never touched)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.kafka import scratch_broker
from infra.kafka.jars import kafka_jar

log = logging.getLogger(__name__)


@contextmanager
def bench_broker(bootstrap_servers: str | None = None) -> Iterator[tuple[str, str | None]]:
    """Yield (bootstrap servers, Kafka version or None for an external broker)."""
    if bootstrap_servers:
        log.info("using the external broker at %s", bootstrap_servers)
        yield bootstrap_servers, None
        return
    data_dir = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    broker = scratch_broker(data_dir)
    try:
        broker.start()
        waited = broker.wait_ready(timeout=90)
        log.info("local broker %s ready in %.1f s (pid %s)", broker.bootstrap_servers, waited,
                 broker.pid)
        yield broker.bootstrap_servers, kafka_version(broker.libs_dir)
    finally:
        broker.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def kafka_version(libs_dir: Path) -> str | None:
    jar = kafka_jar(libs_dir)
    return jar.stem.removeprefix("kafka_2.13-") if jar else None
