"""Kafka clients of the service: their configuration, the startup broker check, topic creation.

Both guarantees read with `isolation.level=read_committed` (never score an aborted upstream
write), never auto-commit and never auto-store offsets: offsets move only after the outputs of
a batch are durably written. The producer is idempotent with acks=all; in exactly-once mode it
is also transactional. The user's `kafka_config` (security settings) is applied to every client.

Replica identity (`--replica-id`): set, it is the consumer's `group.instance.id` (static
membership) and the suffix of a stable `transactional.id` (prefix.group.replica), so a replica
restarted after a crash rejoins with its old assignment instead of waiting out the dead member's
session, and its `init_transactions` fences the dead predecessor and aborts its open transaction
at once. A static member does not leave the group on `close()` (KIP-345): a graceful stop
therefore leaves explicitly (`leave_group`), so that a replica stopped on purpose hands its
partitions over at once, as a dynamic member does. Unset: a random identity per process
(dynamic membership), as before.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from common.contracts.models import MODELS_TOPIC_CONFIG
from common.kafka.config import client_config, redact
from common.kafka.reading import reader_config
from common.kafka.topics import cluster_metadata, create_topics
from consumer.edge.delivery import MESSAGE_TIMEOUT_MS
from consumer.exceptions import KafkaConfigError
from consumer.ops.ratelimit import RateLimitFilter
from consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)
# Every librdkafka client of the consumer logs here; while a broker is away each one logs a
# failed reconnect per backoff, so the logger keeps 10 per client and facility a minute.
kafka_log = logging.getLogger("consumer.librdkafka")
kafka_log.addFilter(RateLimitFilter())


LEAVE_TIMEOUT = 5.0  # seconds a graceful stop waits for its partitions to be revoked


def instance_id(settings: ConsumerSettings | None = None) -> str:
    """This replica: its `replica_id` when set, else host name and pid (client ids, the
    drift-report key)."""
    if settings is not None and settings.replica_id:
        return settings.replica_id
    return f"{socket.gethostname()}-{os.getpid()}"


def membership(settings: ConsumerSettings) -> dict[str, Any]:
    """Static group membership for a replica with an identity; nothing (dynamic) without.

    The session timeout stays librdkafka's (45 s): it is what a crashed replica that does not
    come back costs, and a shorter one lets a broker outage longer than it end in the member
    fencing itself (librdkafka rejoins under a new member id, issue #3437)."""
    if not settings.replica_id:
        return {}
    return {"group.instance.id": settings.replica_id}


def leave_group(consumer: Consumer, timeout: float = LEAVE_TIMEOUT) -> None:
    """Leave the group now, a static member too: unsubscribe, then serve the consumer until
    its partitions are revoked (the leave request follows). Messages it still returns are
    dropped: none of them was processed, none is committed. A consumer that failed (fenced) has
    no membership left to give up: nothing to do."""
    try:
        consumer.unsubscribe()
    except KafkaException as exc:
        if exc.args and isinstance(exc.args[0], KafkaError) and exc.args[0].code() == \
                KafkaError._FATAL:
            return
        raise
    deadline = time.monotonic() + timeout
    while consumer.assignment() and time.monotonic() < deadline:
        consumer.consume(num_messages=100, timeout=0.1)


def consumer_config(settings: ConsumerSettings, **callbacks: Any) -> dict[str, Any]:
    base = {
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "client.id": f"diamond-scorer-{instance_id(settings)}",
        "logger": kafka_log,
        **membership(settings),
        **callbacks,
    }
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def transactional_id(settings: ConsumerSettings) -> str:
    """prefix + group + the replica id, stable across restarts so that a restart fences its
    predecessor; without one a per-process unique suffix (KIP-447: the group fences zombies)."""
    suffix = settings.replica_id or f"{instance_id()}-{uuid.uuid4().hex[:8]}"
    return f"{settings.transactional_id_prefix}.{settings.group_id}.{suffix}"


def producer_config(settings: ConsumerSettings, **callbacks: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        "delivery.report.only.error": True,  # success is checked by flush/commit_transaction
        # no longer than the sink's flush wait: a failed batch leaves nothing queued behind it
        "message.timeout.ms": message_timeout_ms(settings),
        "client.id": f"diamond-scorer-{instance_id(settings)}",
        "logger": kafka_log,
        **callbacks,
    }
    if settings.exactly_once:
        base["transactional.id"] = transactional_id(settings)
        base["transaction.timeout.ms"] = 60_000
        # Back-to-back transactions: the first produce after a commit often gets
        # CONCURRENT_TRANSACTIONS while the broker still writes the commit markers, and waits
        # retry.backoff.ms before it retries. The Java client waits 20 ms there (KAFKA-5477)
        # instead of librdkafka's 100 ms; the backoff still grows to retry.backoff.max.ms.
        base["retry.backoff.ms"] = 20
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def offsets_reader_config(settings: ConsumerSettings) -> dict[str, Any]:
    """The lag monitor's committed-offsets reader: the group's id, but it never subscribes
    (never joins), never commits, and does not wait for open transactions' offsets."""
    base = {
        "group.id": settings.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_uncommitted",
        "client.id": f"diamond-scorer-lag-{instance_id(settings)}",
        "logger": kafka_log,
    }
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def models_reader_config(settings: ConsumerSettings) -> dict[str, Any]:
    """The model follower's reader: assigned the models topic's partition, never in a group,
    never committing (`common.kafka.reading.reader_config`)."""
    base = reader_config(settings.bootstrap_servers, {
        "enable.partition.eof": False,
        "client.id": f"diamond-scorer-models-{instance_id(settings)}",
        "logger": kafka_log,
    })
    return client_config(settings.bootstrap_servers, base, settings.kafka_config)


def build_models_reader(settings: ConsumerSettings) -> Consumer:
    return _build(Consumer, "models reader", models_reader_config(settings))


def build_offsets_reader(settings: ConsumerSettings) -> Consumer:
    return _build(Consumer, "lag offsets reader", offsets_reader_config(settings))


def admin_config(settings: ConsumerSettings) -> dict[str, Any]:
    return client_config(settings.bootstrap_servers, {"logger": kafka_log}, settings.kafka_config)


DEFAULT_MAX_POLL_INTERVAL_MS = 300_000  # librdkafka's default
DEFAULT_SESSION_TIMEOUT_MS = 45_000  # librdkafka's default


def max_poll_interval(settings: ConsumerSettings) -> float:
    """Seconds librdkafka allows between two consume() calls (kafka_config may lower it)."""
    return _ms_setting(settings, "max.poll.interval.ms", DEFAULT_MAX_POLL_INTERVAL_MS)


def session_timeout_s(settings: ConsumerSettings) -> float:
    """Seconds the group keeps a silent member (kafka_config may change it)."""
    return _ms_setting(settings, "session.timeout.ms", DEFAULT_SESSION_TIMEOUT_MS)


def _ms_setting(settings: ConsumerSettings, key: str, default_ms: int) -> float:
    value = settings.kafka_config.get(key)
    if value is None:
        return default_ms / 1000
    text = value.get_secret_value()
    try:
        return int(text) / 1000
    except ValueError as exc:
        raise KafkaConfigError(
            f"{key} must be a whole number of milliseconds, got {text!r}"
        ) from exc


def build_consumer(settings: ConsumerSettings, **callbacks: Any) -> Consumer:
    config = consumer_config(settings, **callbacks)
    log.info("consumer config: %s", _loggable(config))
    return _build(Consumer, "consumer", config)


def build_producer(settings: ConsumerSettings, **callbacks: Any) -> Producer:
    config = producer_config(settings, **callbacks)
    log.info("producer config: %s", _loggable(config))
    return _build(Producer, "producer", config)


def _build(cls: Any, kind: str, config: dict[str, Any]) -> Any:
    try:
        return cls(config)
    except KafkaException as exc:
        raise KafkaConfigError(
            f"librdkafka refused the {kind} configuration: {exc.args[0].str()} "
            "(check --kafka-config / CONSUMER_KAFKA_CONFIG)"
        ) from exc


def _loggable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in redact(config).items() if k != "logger"}


def build_admin(settings: ConsumerSettings) -> AdminClient:
    return _build(AdminClient, "admin client", admin_config(settings))


def check_broker(settings: ConsumerSettings) -> dict[str, int]:
    """Topic name -> partition count; BrokerUnavailableError when no broker answers."""
    timeout = settings.broker_timeout
    admin = build_admin(settings)
    metadata = cluster_metadata(admin, bootstrap_servers=settings.bootstrap_servers,
                                timeout=timeout, hint="--bootstrap-servers, --broker-timeout")
    topics = {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}
    if settings.create_topics:
        _create_missing(admin, settings, topics, timeout)
    if settings.input_topic not in topics:
        log.warning("input topic %s does not exist yet: waiting for it", settings.input_topic)
    return topics


def _create_missing(
    admin: AdminClient, settings: ConsumerSettings, topics: dict[str, int], timeout: float
) -> None:
    # Outputs keep the input's key, so the same partition count keeps them co-partitioned.
    missing = [t for t in settings.topics_to_create if t not in topics]
    topics.update(create_topics(admin, missing, partitions=topics.get(settings.input_topic, 3),
                                replication_factor=-1, timeout=timeout))
    if settings.follows_models and settings.models_topic not in topics:
        # one partition, compacted: the latest announcement per alias, in order
        topics.update(create_topics(admin, [settings.models_topic], partitions=1,
                                    replication_factor=-1, config=MODELS_TOPIC_CONFIG,
                                    timeout=timeout))


TRANSACTION_TIMEOUT_MS = 60_000  # producer_config sets it (kafka_config may override)


def message_timeout_ms(settings: ConsumerSettings) -> int:
    """`MESSAGE_TIMEOUT_MS`, or less when kafka_config lowers transaction.timeout.ms (librdkafka
    refuses a message timeout above the transaction timeout)."""
    if not settings.exactly_once:
        return MESSAGE_TIMEOUT_MS
    value = settings.kafka_config.get("transaction.timeout.ms")
    try:
        txn = int(value.get_secret_value()) if value is not None else TRANSACTION_TIMEOUT_MS
    except ValueError:  # librdkafka names the bad value when the producer is built
        return MESSAGE_TIMEOUT_MS
    return max(1, min(MESSAGE_TIMEOUT_MS, txn))
