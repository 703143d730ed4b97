"""Create the topics the producer writes to when they are missing.

`ensure_topics` asks the cluster for metadata, creates the missing topics with the configured
partitions and replication factor (TOPIC_ALREADY_EXISTS, e.g. a concurrent creator, is fine) and
returns each topic's partition count. An authorisation error names the topic and the setting
that chose it; a silent cluster names the bootstrap servers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from producer.exceptions import BrokerUnavailableError, TopicAuthorizationError, TopicError

log = logging.getLogger(__name__)

_AUTH_ERRORS = (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED)


def ensure_topics(
    config: Mapping[str, Any],
    topics: Mapping[str, str],
    *,
    partitions: int,
    replication_factor: int,
    timeout: float,
    admin_factory: Any = AdminClient,
) -> dict[str, int]:
    """Make sure every topic exists; `topics` maps a topic to the setting that named it."""
    admin = admin_factory(dict(config))
    existing = _partition_counts(admin, topics, config, timeout)
    missing = [topic for topic in topics if topic not in existing]
    if missing:
        futures = admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
             for t in missing],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for topic, future in futures.items():
            try:
                future.result()
                log.info("created topic %s (%d partitions, replication %d)",
                         topic, partitions, replication_factor)
            except KafkaException as exc:
                _raise_unless_exists(exc, topic, topics[topic])
        existing = _wait_until_visible(admin, topics, config, timeout)
    return existing


def _wait_until_visible(
    admin: Any, topics: Mapping[str, str], config: Mapping[str, Any], timeout: float
) -> dict[str, int]:
    """New topics take a moment to appear in metadata with a leader for every partition."""
    deadline = time.monotonic() + timeout
    while True:
        existing = _partition_counts(admin, topics, config, timeout)
        missing = [topic for topic in topics if topic not in existing]
        if not missing:
            return existing
        if time.monotonic() >= deadline:
            raise TopicError(
                f"topic {missing[0]!r} ({topics[missing[0]]}) has no leader for every partition "
                f"{timeout:g} s after its creation"
            )
        time.sleep(0.1)


def _partition_counts(
    admin: Any, topics: Mapping[str, str], config: Mapping[str, Any], timeout: float
) -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnavailableError(
            f"no metadata from bootstrap servers {config.get('bootstrap.servers')!r} within "
            f"{timeout:g} s (--bootstrap-servers / PRODUCER_BOOTSTRAP_SERVERS, "
            f"--admin-timeout): {exc.args[0]}"
        ) from exc
    counts: dict[str, int] = {}
    for topic, setting in topics.items():
        found = metadata.topics.get(topic)
        if found is None:
            continue
        if found.error is not None:
            if found.error.code() in _AUTH_ERRORS:
                raise TopicAuthorizationError(
                    f"not authorised to describe topic {topic!r} (set by {setting}): "
                    f"{found.error.str()}"
                )
            if found.error.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
                continue
            raise TopicError(f"topic {topic!r} ({setting}) is unusable: {found.error.str()}")
        if found.partitions and all(p.leader >= 0 for p in found.partitions.values()):
            counts[topic] = len(found.partitions)
    return counts


def _raise_unless_exists(exc: KafkaException, topic: str, setting: str) -> None:
    error = exc.args[0]
    code = error.code() if isinstance(error, KafkaError) else None
    if code == KafkaError.TOPIC_ALREADY_EXISTS:
        return
    if code in _AUTH_ERRORS:
        raise TopicAuthorizationError(
            f"not authorised to create topic {topic!r} (set by {setting}): create it beforehand "
            f"or grant CREATE, then run with --no-create-topics if DESCRIBE is also denied"
        ) from exc
    raise TopicError(f"cannot create topic {topic!r} ({setting}): {error}") from exc
