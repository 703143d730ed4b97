"""Topics: the broker metadata check, creating topics and waiting for their leaders, deleting.

- `cluster_metadata(admin, ...)`: the cluster's metadata, or ONE `BrokerUnavailableError` that
  names the bootstrap servers, the timeout and the settings to check.
- `partition_counts(metadata, topics)`: topic -> partition count of the topics that exist with a
  leader for every partition; a topic the principal may not describe is an error, not "missing".
- `create_topics(admin, topics, ...)`: idempotent (TOPIC_ALREADY_EXISTS, e.g. a concurrent
  creator, is fine); returns once every partition of every topic has a leader.
- `delete_topics(admin, topics, ...)`: best effort, a failure is logged (cleanup must not mask
  the error that made a run stop).

`origins` maps a topic to the setting that named it (e.g. "--topic / PRODUCER_TOPIC"): errors
then say which setting to change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from common.kafka.exceptions import BrokerUnavailableError, TopicAuthorizationError, TopicError

log = logging.getLogger(__name__)

_AUTH_ERRORS = (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED)
# not there (yet), or there without a leader (yet): waited for, never "unusable"
_NOT_YET = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
            KafkaError.LEADER_NOT_AVAILABLE)
LEADER_POLL = 0.1  # seconds between two metadata requests while waiting for leaders


def cluster_metadata(
    admin: Any, *, bootstrap_servers: str, timeout: float, hint: str = "--bootstrap-servers"
) -> Any:
    """`admin.list_topics()`; BrokerUnavailableError when no broker answers within `timeout`.

    `hint` names the settings the user can change (bootstrap servers, timeout)."""
    try:
        return admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise BrokerUnavailableError(
            f"no Kafka broker answered at {bootstrap_servers} within {timeout:g} s "
            f"({_text(exc)}): is it running? ({hint})"
        ) from exc


def partition_counts(
    metadata: Any, topics: Iterable[str], *, origins: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Topic -> partition count of those `topics` that exist with a leader for every partition."""
    counts: dict[str, int] = {}
    for topic in topics:
        found = metadata.topics.get(topic)
        if found is None:
            continue
        if found.error is not None:
            code = found.error.code()
            if code in _AUTH_ERRORS:
                raise TopicAuthorizationError(
                    f"not authorised to describe topic {topic!r}{_set_by(topic, origins)}: "
                    f"{found.error.str()}"
                )
            if code in _NOT_YET:
                continue
            raise TopicError(
                f"topic {topic!r}{_named(topic, origins)} is unusable: {found.error.str()}"
            )
        if found.partitions and all(p.leader >= 0 for p in found.partitions.values()):
            counts[topic] = len(found.partitions)
    return counts


def create_topics(
    admin: Any,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int = -1,
    config: Mapping[str, str] | None = None,
    timeout: float,
    origins: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Create `topics` (those that exist already are fine), then wait until every partition of
    each has a leader; returns topic -> partition count. -1: the broker's default replication."""
    names = list(dict.fromkeys(topics))
    if not names:
        return {}
    new = [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor,
                    config=dict(config or {})) for t in names]
    futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            _raise_unless_exists(exc, topic, origins)
            continue
        except TimeoutError as exc:
            raise TopicError(
                f"creating topic {topic!r}{_named(topic, origins)} took longer than {timeout:g} s"
            ) from exc
        log.info("created topic %s (%d partitions, replication %d)", topic, partitions,
                 replication_factor)
    return wait_for_leaders(admin, names, timeout=timeout, origins=origins)


def wait_for_leaders(
    admin: Any, topics: Iterable[str], *, timeout: float,
    origins: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """A new topic takes a moment to appear in metadata with a leader for every partition."""
    names = list(topics)
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = admin.list_topics(timeout=max(0.1, deadline - time.monotonic()))
            counts = partition_counts(metadata, names, origins=origins)
            cause = ""
        except KafkaException as exc:  # the broker answered a moment ago: retry until the deadline
            counts, cause = {}, f" (last error: {_text(exc)})"
        missing = [t for t in names if t not in counts]
        if not missing:
            return counts
        if time.monotonic() >= deadline:
            raise TopicError(
                f"topic {missing[0]!r}{_named(missing[0], origins)} has no leader for every "
                f"partition {timeout:g} s after its creation{cause}"
            )
        time.sleep(LEADER_POLL)


def delete_topics(admin: Any, topics: Iterable[str], *, timeout: float) -> None:
    """Delete `topics`, best effort: a topic that cannot be deleted is logged, not raised."""
    names = list(topics)
    if not names:
        return
    for topic, future in admin.delete_topics(names, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except (KafkaException, TimeoutError) as exc:
            log.warning("could not delete topic %s: %s", topic, exc)


def _raise_unless_exists(
    exc: KafkaException, topic: str, origins: Mapping[str, str] | None
) -> None:
    error = exc.args[0] if exc.args else exc
    code = error.code() if isinstance(error, KafkaError) else None
    if code == KafkaError.TOPIC_ALREADY_EXISTS:
        return
    if code in _AUTH_ERRORS:
        raise TopicAuthorizationError(
            f"not authorised to create topic {topic!r}{_set_by(topic, origins)}: create it "
            "beforehand or grant CREATE, then run with --no-create-topics if DESCRIBE is also "
            "denied"
        ) from exc
    raise TopicError(f"cannot create topic {topic!r}{_named(topic, origins)}: {error}") from exc


def _text(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else exc
    return error.str() if isinstance(error, KafkaError) else str(error)


def _set_by(topic: str, origins: Mapping[str, str] | None) -> str:
    origin = (origins or {}).get(topic)
    return f" (set by {origin})" if origin else ""


def _named(topic: str, origins: Mapping[str, str] | None) -> str:
    origin = (origins or {}).get(topic)
    return f" ({origin})" if origin else ""
