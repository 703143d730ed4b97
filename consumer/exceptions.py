"""Errors raised by the scoring service.

::

    ConsumerError                root of the scoring service's own errors
    ├── ModelLoadError           the model artifact is missing or fails its integrity check
    ├── KafkaConfigError         librdkafka refused a client property (e.g. from kafka_config)
    ├── DeliveryError            a batch's outputs were not durably written, so its offsets were
    │                            not committed (retried from the committed offsets)
    ├── FatalKafkaError          librdkafka reported a fatal error (e.g. producer fenced)
    └── ScoringError             the model failed on a batch of validated events
    common.kafka.KafkaToolkitError   the shared Kafka helpers' errors (one of each, re-exported)
    ├── BrokerUnavailableError   no Kafka broker answered at startup
    └── TopicError               a missing output topic cannot be created (--no-create-topics)

Catch `(ConsumerError, KafkaToolkitError)` for any scoring-service failure (`python -m consumer`
does). Per-event problems are not exceptions of these trees: they are dead-lettered with a bounded
reason (`model.schema.REASONS`). Every message names the offending value and what was expected.
"""

from __future__ import annotations

from common.kafka.exceptions import BrokerUnavailableError, KafkaToolkitError, TopicError

__all__ = [
    "BrokerUnavailableError",
    "ConsumerError",
    "DeliveryError",
    "FatalKafkaError",
    "KafkaConfigError",
    "KafkaToolkitError",
    "ModelLoadError",
    "ScoringError",
    "TopicError",
]


class ConsumerError(Exception):
    """Root of every error raised by the consumer package."""


class ModelLoadError(ConsumerError):
    """The model artifact cannot be loaded (raised from `model.ArtifactError`)."""


class KafkaConfigError(ConsumerError):
    """librdkafka refused the client configuration (an unknown or invalid property)."""


class DeliveryError(ConsumerError):
    """Outputs of a batch were not all acknowledged: the batch was not committed."""


class FatalKafkaError(ConsumerError):
    """A fatal librdkafka error: the client cannot continue and the process must exit."""


class ScoringError(ConsumerError):
    """The model raised or returned an unusable result on validated input."""
