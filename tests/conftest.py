"""Shared fixtures. One section per area; add yours under its own header.

Kafka (integration tests, ``@pytest.mark.integration``):

- ``kafka_broker`` (session): a real single-node broker on two free loopback ports in a temp
  dir, always stopped at the end; or the external broker named by ``TEST_KAFKA_BOOTSTRAP``.
- ``bootstrap_servers`` (session): its ``host:port``.
- ``kafka_admin`` (session): an ``AdminClient`` on it.
- ``new_topic(partitions=3, *, config=None) -> str``: creates a uniquely named topic, waits
  until every partition has a leader, deletes it after the test.
- ``unique_group_id(prefix="test") -> str``: a fresh consumer group id per call.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest
from confluent_kafka.admin import AdminClient

from common.kafka import create_topics, delete_topics
from infra.kafka import LocalBroker, scratch_broker

# ---------------------------------------------------------------------------------------------
# Kafka broker
# ---------------------------------------------------------------------------------------------

EXTERNAL_BOOTSTRAP_ENV = "TEST_KAFKA_BOOTSTRAP"


@dataclass(frozen=True)
class ExternalBroker:
    """A broker the tests did not start (``TEST_KAFKA_BOOTSTRAP``): never stopped by them."""

    bootstrap_servers: str


@pytest.fixture(scope="session")
def kafka_broker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalBroker | ExternalBroker]:
    external = os.environ.get(EXTERNAL_BOOTSTRAP_ENV)
    if external:
        yield ExternalBroker(external)
        return
    broker = scratch_broker(tmp_path_factory.mktemp("kafka"))
    try:
        broker.start()
        broker.wait_ready(timeout=60)
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def bootstrap_servers(kafka_broker: LocalBroker | ExternalBroker) -> str:
    return kafka_broker.bootstrap_servers


@pytest.fixture(scope="session")
def kafka_admin(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers})


@pytest.fixture
def unique_group_id() -> Callable[..., str]:
    def make(prefix: str = "test") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture
def new_topic(
    request: pytest.FixtureRequest, kafka_admin: AdminClient
) -> Iterator[Callable[..., str]]:
    created: list[str] = []
    test_name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:80]

    def make(partitions: int = 3, *, config: Mapping[str, str] | None = None) -> str:
        name = f"{test_name}-{uuid.uuid4().hex[:12]}"
        create_topics(kafka_admin, [name], partitions=partitions, replication_factor=1,
                      config=config, timeout=30)
        created.append(name)
        return name

    yield make
    # matters on an external broker; best effort (the broker may be down)
    delete_topics(kafka_admin, created, timeout=30)


# ---------------------------------------------------------------------------------------------
# (next area: add its fixtures below under its own header)
# ---------------------------------------------------------------------------------------------
