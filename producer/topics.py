"""Create the topics the producer writes to when they are missing.

`ensure_topics` asks the cluster for metadata, creates the missing topics with the configured
partitions and replication factor (TOPIC_ALREADY_EXISTS, e.g. a concurrent creator, is fine) and
returns each topic's partition count. The work is `common.kafka.topics`'; errors name the topic
and the setting that chose it, or the bootstrap servers of a silent cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka.admin import AdminClient

from common.kafka.topics import cluster_metadata, create_topics, partition_counts

BROKER_HINT = "--bootstrap-servers / PRODUCER_BOOTSTRAP_SERVERS, --admin-timeout"


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
    metadata = cluster_metadata(admin, bootstrap_servers=str(config.get("bootstrap.servers")),
                                timeout=timeout, hint=BROKER_HINT)
    counts = partition_counts(metadata, topics, origins=topics)
    missing = [topic for topic in topics if topic not in counts]
    counts.update(create_topics(admin, missing, partitions=partitions,
                                replication_factor=replication_factor, timeout=timeout,
                                origins=topics))
    return counts
