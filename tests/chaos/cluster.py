"""The broker side of a chaos run: our own restartable `LocalBroker`, or an existing bootstrap.

`own_broker(workdir)` starts a fresh single-node broker on free loopback ports in `workdir` and
always stops it (SIGKILL as a last resort). `Cluster` wraps the admin calls the scenarios and
the audit need: topics, topic configs, ACLs, group offsets, end offsets.

With `secure=True` the broker also has a SASL_PLAINTEXT listener and the standard authorizer:
the harness itself (PLAINTEXT, principal ANONYMOUS) is a super user, the consumers under test
log in as `alice` with ALLOW ALL ACLs, so a scenario can deny `alice` one operation on one
topic, the way an operator's ACL change would, without touching the broker's own writes
(transaction markers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import IsolationLevel, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    OffsetSpec,
    ResourcePatternType,
    ResourceType,
)

from common.kafka import GroupOffsets, create_topics, delete_topics
from infra.kafka import LocalBroker, sasl_client_config, sasl_scratch_broker, scratch_broker

TIMEOUT = 15.0
USER, PASSWORD = "alice", "chaos-alice-pw"
SASL_CONFIG = sasl_client_config(USER, PASSWORD)


class Cluster:
    """Admin helpers on one bootstrap; `broker` is set when this run may stop and restart it."""

    def __init__(self, bootstrap_servers: str, broker: LocalBroker | None = None, *,
                 client_bootstrap: str | None = None,
                 client_config: Mapping[str, str] | None = None) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.broker = broker
        # what the consumers under test use (SASL as alice on a secure broker)
        self.client_bootstrap = client_bootstrap or bootstrap_servers
        self.client_config = dict(client_config or {})
        self.admin = AdminClient({"bootstrap.servers": bootstrap_servers,
                                  "reconnect.backoff.max.ms": 1000, "log_level": 2})
        self._readers: dict[str, GroupOffsets] = {}
        self._lock = threading.Lock()

    def create_topics(self, names: list[str], partitions: int = 3,
                      config: Mapping[str, str] | None = None) -> None:
        create_topics(self.admin, names, partitions=partitions, replication_factor=1,
                      config=config, timeout=TIMEOUT)

    def delete_topics(self, names: list[str]) -> None:
        delete_topics(self.admin, names, timeout=TIMEOUT)

    def set_topic_config(self, topic: str, config: Mapping[str, str | None]) -> None:
        """Incrementally set (or, with None, delete) topic configs."""
        entries = [
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET if v is not None
                        else AlterConfigOpType.DELETE)
            for k, v in config.items()
        ]
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=entries)
        for future in self.admin.incremental_alter_configs([resource]).values():
            future.result(timeout=TIMEOUT)

    def _acl(self, topic: str, operation: AclOperation, permission: AclPermissionType,
             resource: ResourceType = ResourceType.TOPIC) -> AclBinding:
        return AclBinding(resource, topic, ResourcePatternType.LITERAL, f"User:{USER}", "*",
                          operation, permission)

    def allow_everything(self) -> None:
        """ALLOW ALL for the test user on every topic, group, transactional id and the cluster."""
        bindings = [self._acl(name, AclOperation.ALL, AclPermissionType.ALLOW, kind)
                    for kind, name in ((ResourceType.TOPIC, "*"), (ResourceType.GROUP, "*"),
                                       (ResourceType.TRANSACTIONAL_ID, "*"),
                                       (ResourceType.BROKER, "kafka-cluster"))]
        for future in self.admin.create_acls(bindings, request_timeout=TIMEOUT).values():
            future.result(timeout=TIMEOUT)

    def deny_write(self, topic: str, deny: bool = True) -> None:
        """Add (or remove) a DENY WRITE ACL for the test user on `topic`."""
        binding = self._acl(topic, AclOperation.WRITE, AclPermissionType.DENY)
        futures: Mapping[Any, Future[Any]]
        if deny:
            futures = self.admin.create_acls([binding], request_timeout=TIMEOUT)
        else:
            flt = AclBindingFilter(binding.restype, binding.name, binding.resource_pattern_type,
                                   binding.principal, binding.host, binding.operation,
                                   binding.permission_type)
            futures = self.admin.delete_acls([flt], request_timeout=TIMEOUT)
        for future in futures.values():
            future.result(timeout=TIMEOUT)

    def partitions(self, topic: str) -> list[int]:
        meta = self.admin.list_topics(topic, timeout=TIMEOUT).topics[topic]
        return sorted(meta.partitions)

    def end_offsets(self, topic: str, *, committed_only: bool = False) -> dict[int, int]:
        level = IsolationLevel.READ_COMMITTED if committed_only else IsolationLevel.READ_UNCOMMITTED
        request = {TopicPartition(topic, p): OffsetSpec.latest() for p in self.partitions(topic)}
        futures = self.admin.list_offsets(request, isolation_level=level,
                                          request_timeout=TIMEOUT)
        return {tp.partition: f.result(timeout=TIMEOUT).offset for tp, f in futures.items()}

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's committed offsets (none yet: 0, the start of our topics), read by a
        consumer of the group that never subscribes (`common.kafka.GroupOffsets`), one per
        group, kept for the run."""
        partitions = self.partitions(topic)
        with self._lock:
            reader = self._readers.get(group)
            if reader is None:
                reader = self._readers[group] = GroupOffsets(
                    self.bootstrap_servers, group, config={"log_level": 2})
            return reader.committed(topic, partitions, timeout=TIMEOUT)

    def close(self) -> None:
        with self._lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()


# on a secure broker: the standard authorizer; the harness (PLAINTEXT, ANONYMOUS) is a super user
AUTHORIZER = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
}


@contextmanager
def own_broker(workdir: Path, *, secure: bool = False) -> Iterator[Cluster]:
    """A fresh broker for one scenario, on free ports in `workdir`; always stopped."""
    client_bootstrap: str | None = None
    if secure:
        broker, client_bootstrap = sasl_scratch_broker(
            workdir / "kafka", users={USER: PASSWORD}, properties=AUTHORIZER)
    else:
        broker = scratch_broker(workdir / "kafka")
    try:
        broker.start()
        broker.wait_ready(timeout=90)
        cluster = Cluster(broker.bootstrap_servers, broker, client_bootstrap=client_bootstrap,
                          client_config=SASL_CONFIG if secure else None)
        try:
            if secure:
                cluster.allow_everything()
            yield cluster
        finally:
            cluster.close()
    finally:
        try:
            broker.stop(timeout=20)
        finally:
            broker.kill()  # no-op once stopped
