"""``server.properties`` of a single-node KRaft broker (combined broker + controller) on loopback.

Dev choices beyond the minimal single-node settings:

- ``auto.create.topics.enable=false``: the producer, consumer and tests create their topics
  explicitly (partitions and configs are part of the design); a typo in a topic name fails
  loudly instead of silently creating a new topic.
- ``num.partitions=3``: the default for topics created without a partition count.
- every internal topic (offsets, transaction state, share state) has replication factor 1 and
  min ISR 1, and fewer partitions than upstream (10 instead of 50) so that the first consumer
  group and the first transactional producer are ready in well under a second.
- retention: 24 hours or 1 GiB per partition, in 64 MiB segments, so a long demo or bench run
  cannot fill the disk.
- a 4 s broker session (upstream 9 s): after a crash (``kill -9``) the restarted node must wait
  for its previous registration to expire before it can register again, so this bounds how long
  a crash-restart takes; a single node has no other broker to fail over to anyway.
- a 32 MiB log-cleaner buffer (upstream 128 MiB) keeps the JVM small: only the compacted
  internal topics use it.

`sasl_plain_overrides` adds a SASL_PLAINTEXT listener (mechanism PLAIN, users from a mapping)
beside the PLAINTEXT one, for the tests of credentials and ACLs; `sasl_client_config` is what a
client sets to log in there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

NODE_ID = 1


def broker_properties(
    *,
    host: str,
    port: int,
    controller_port: int,
    log_dir: Path,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The broker settings as a dict (``overrides`` win)."""
    props = {
        # Identity and roles: one node is both broker and KRaft controller.
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{host}:{controller_port}",
        # Listeners: clients on PORT, the controller quorum on CONTROLLER_PORT, loopback only.
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        # Storage.
        "log.dirs": str(log_dir),
        "num.recovery.threads.per.data.dir": "1",
        # One node: every replication factor and min ISR is 1.
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Crash-restart: the old registration expires after 4 s instead of 9 s.
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "1000",
        # Groups rebalance at once (no 3 s wait for more members).
        "group.initial.rebalance.delay.ms": "0",
        # Topics are created explicitly; 3 partitions when a creator gives no count.
        "auto.create.topics.enable": "false",
        "num.partitions": "3",
        # Modest retention for a development machine.
        "log.retention.hours": "24",
        "log.retention.bytes": str(1024**3),
        "log.segment.bytes": str(64 * 1024**2),
        "log.retention.check.interval.ms": "60000",
        "log.cleaner.dedupe.buffer.size": str(32 * 1024**2),
    }
    if overrides:
        props.update(overrides)
    return props


def sasl_plain_overrides(
    *, host: str, port: int, sasl_port: int, controller_port: int, users: Mapping[str, str],
) -> dict[str, str]:
    """`broker_properties` overrides: PLAINTEXT on `port` (the broker itself and any
    unauthenticated client), SASL_PLAINTEXT with PLAIN on `sasl_port`, where each of `users`
    (name: password) can log in."""
    logins = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return {
        "listeners": (f"PLAINTEXT://{host}:{port},SASL_PLAINTEXT://{host}:{sasl_port},"
                      f"CONTROLLER://{host}:{controller_port}"),
        "advertised.listeners": f"PLAINTEXT://{host}:{port},SASL_PLAINTEXT://{host}:{sasl_port}",
        "listener.security.protocol.map": ("CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
                                           "SASL_PLAINTEXT:SASL_PLAINTEXT"),
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="admin" password="admin-pw" user_admin="admin-pw" {logins};'),
    }


def sasl_client_config(username: str, password: str) -> dict[str, str]:
    """The librdkafka properties that log in to a `sasl_plain_overrides` listener."""
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
            "sasl.username": username, "sasl.password": password}


def escape_value(value: str) -> str:
    """Escape a value for ``java.util.Properties.load`` (ISO-8859-1, backslash escapes)."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= code <= 0x7E:
            out.append(ch)
        else:
            encoded = ch.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(encoded[i:i + 2], 'big'):04x}"
                       for i in range(0, len(encoded), 2))
    return "".join(out)


def render_properties(props: Mapping[str, str]) -> str:
    """The text of a ``.properties`` file, one ``key=value`` line per setting."""
    header = "# Written by infra.kafka.launcher: regenerated on every start, do not edit.\n"
    return header + "".join(f"{key}={escape_value(value)}\n" for key, value in props.items())
