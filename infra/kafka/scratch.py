"""A broker of one's own: on free loopback ports, from the jars of `LocalKafkaSettings`.

Tests, fault-injection runs and benchmarks start one in a folder of their own, never touching the
development broker. `scratch_broker` builds it (not started: the caller starts, waits for and
stops it); `sasl_scratch_broker` adds a SASL_PLAINTEXT listener (`sasl_plain_overrides`) and
returns its bootstrap too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from infra.kafka.jars import ensure_libs
from infra.kafka.launcher import LocalBroker
from infra.kafka.net import free_ports
from infra.kafka.properties import sasl_plain_overrides
from infra.kafka.settings import LocalKafkaSettings

HOST = "127.0.0.1"


def scratch_broker(
    data_dir: Path, *, heap: str = "512M", properties: Mapping[str, str] | None = None,
) -> LocalBroker:
    """A broker in `data_dir` on two free loopback ports (clients, controller)."""
    port, controller_port = free_ports(2, HOST)
    return _broker(data_dir, port, controller_port, heap=heap, properties=properties)


def sasl_scratch_broker(
    data_dir: Path, *, users: Mapping[str, str], properties: Mapping[str, str] | None = None,
) -> tuple[LocalBroker, str]:
    """A broker as `scratch_broker`'s with a SASL_PLAINTEXT listener on a third free port,
    where `users` (name: password) log in with PLAIN; and that listener's bootstrap.
    `properties` are added to (and win over) the listener's."""
    port, sasl_port, controller_port = free_ports(3, HOST)
    overrides = sasl_plain_overrides(host=HOST, port=port, sasl_port=sasl_port,
                                     controller_port=controller_port, users=users)
    broker = _broker(data_dir, port, controller_port, properties={**overrides,
                                                                   **(properties or {})})
    return broker, f"{HOST}:{sasl_port}"


def _broker(
    data_dir: Path, port: int, controller_port: int, *, heap: str = "512M",
    properties: Mapping[str, str] | None = None,
) -> LocalBroker:
    settings = LocalKafkaSettings()
    libs = ensure_libs(settings.libs_dir, stamp_file=settings.stamp_file)
    return LocalBroker(data_dir=data_dir, libs_dir=libs, host=HOST, port=port,
                       controller_port=controller_port, heap=heap, properties=properties)
