"""The Kafka helpers every part of the project shares: producer, consumer, demo, bench and tests
call these instead of writing their own.

================  ==============================================================================
module            what it does
================  ==============================================================================
``config``        `client_config` (our settings + the user's librdkafka pass-through), `redact`
``topics``        the broker metadata check (`cluster_metadata`), `create_topics` (idempotent,
                  waits for a leader on every partition), `partition_counts`, `delete_topics`
``reading``       `iter_to_end` / `read_to_end` (every partition up to the high watermarks at the
                  start), `high_watermarks`, `committed_offsets` and `GroupOffsets` (a group's
                  committed offsets through a consumer that never subscribes)
``producing``     `produce_all` (a bounded wait while the local queue is full), `DeliveryReports`
================  ==============================================================================

Errors::

    KafkaToolkitError                 root: catch this for any failure of these helpers
    ├── BrokerUnavailableError        no broker answered a metadata request in time
    ├── TopicError                    a topic cannot be created, is unusable, or has no leader
    │   └── TopicAuthorizationError   the principal may not describe or create the topic
    ├── ReadError                     the reader of a topic reported an error
    │   └── ReadTimeoutError          a topic was not read to its end in time (a TimeoutError)
    └── ProduceError
        ├── QueueFullError            the local queue stayed full past the timeout: not queued
        └── DeliveryFailedError       delivery reports with errors, or records left undelivered

`consumer.exceptions` and `producer.exceptions` re-export `BrokerUnavailableError`,
`TopicError` and `TopicAuthorizationError` from here: there is one of each.
"""

from common.kafka.config import client_config, is_secret_key, redact
from common.kafka.exceptions import (
    BrokerUnavailableError,
    DeliveryFailedError,
    KafkaToolkitError,
    ProduceError,
    QueueFullError,
    ReadError,
    ReadTimeoutError,
    TopicAuthorizationError,
    TopicError,
)
from common.kafka.producing import DeliveryReports, OutboundRecord, Record, produce_all
from common.kafka.reading import (
    GroupOffsets,
    committed_offsets,
    high_watermarks,
    iter_to_end,
    offsets_reader_config,
    read_to_end,
    reader_config,
    topic_partitions,
)
from common.kafka.topics import (
    cluster_metadata,
    create_topics,
    delete_topics,
    partition_counts,
    wait_for_leaders,
)

__all__ = [
    "BrokerUnavailableError",
    "DeliveryFailedError",
    "DeliveryReports",
    "GroupOffsets",
    "KafkaToolkitError",
    "OutboundRecord",
    "ProduceError",
    "QueueFullError",
    "ReadError",
    "ReadTimeoutError",
    "Record",
    "TopicAuthorizationError",
    "TopicError",
    "client_config",
    "cluster_metadata",
    "committed_offsets",
    "create_topics",
    "delete_topics",
    "high_watermarks",
    "is_secret_key",
    "iter_to_end",
    "offsets_reader_config",
    "partition_counts",
    "produce_all",
    "read_to_end",
    "reader_config",
    "redact",
    "topic_partitions",
    "wait_for_leaders",
]
