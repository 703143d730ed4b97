"""Errors raised by the producer package.

::

    ProducerError                root of the producer's own errors
    common.kafka.KafkaToolkitError   the Kafka setup errors, shared with the consumer (one of each)
    ├── BrokerUnavailableError   no metadata from the bootstrap servers within the timeout
    ├── TopicError               a topic cannot be created or has an unusable layout
    │   └── TopicAuthorizationError  the principal may not describe or create the topic
    └── QueueFullError           the local queue stayed full: the broker is not taking writes

Catch `(ProducerError, KafkaToolkitError)` for any setup failure (`python -m producer` does).
Bad settings raise pydantic's `ValidationError` (a `ValueError`), naming the value and the valid
range. Per-message delivery failures are not exceptions: they are counted, logged and reported in
the `ProducerSummary` (and turn the exit code non-zero).
"""

from __future__ import annotations

from common.kafka.exceptions import (
    BrokerUnavailableError,
    KafkaToolkitError,
    QueueFullError,
    TopicAuthorizationError,
    TopicError,
)

__all__ = [
    "BrokerUnavailableError",
    "KafkaToolkitError",
    "ProducerError",
    "QueueFullError",
    "TopicAuthorizationError",
    "TopicError",
]


class ProducerError(Exception):
    """Root of the errors the producer package defines itself."""
