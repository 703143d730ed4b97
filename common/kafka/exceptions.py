"""Errors raised by `common.kafka` (the tree is drawn in the package docstring).

Each message names the topic, the bootstrap servers or the timeout involved, and the setting to
check where the caller said which one it was.
"""

from __future__ import annotations


class KafkaToolkitError(Exception):
    """Root of every error raised by `common.kafka`."""


class BrokerUnavailableError(KafkaToolkitError):
    """No Kafka broker answered a metadata request in time."""


class TopicError(KafkaToolkitError):
    """A topic cannot be created, is unusable, or has no leader for every partition in time."""


class TopicAuthorizationError(TopicError):
    """The configured principal may not describe or create a topic."""


class ReadError(KafkaToolkitError):
    """Reading a topic to its end failed: the reader reported an error."""


class ReadTimeoutError(ReadError, TimeoutError):
    """A topic was not read to its end within the timeout."""


class ProduceError(KafkaToolkitError):
    """Records could not be queued or were not delivered."""


class QueueFullError(ProduceError):
    """The producer's local queue stayed full past the timeout: the record was not queued."""

    def __init__(self, message: str, *, queued: int) -> None:
        super().__init__(message)
        self.queued = queued  # records of the same call queued before this one


class DeliveryFailedError(ProduceError):
    """Delivery reports came back with errors, or records stayed undelivered after a flush."""
