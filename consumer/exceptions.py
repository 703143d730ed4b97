"""Errors raised by the scoring service.

::

    ConsumerError                root: catch this to handle any scoring-service failure
    ├── ModelLoadError           the model artifact is missing or fails its integrity check
    ├── BrokerUnavailableError   no Kafka broker answered at startup
    ├── KafkaConfigError         librdkafka refused a client property (e.g. from kafka_config)
    ├── DeliveryError            a batch's outputs were not durably written, so its offsets were
    │                            not committed (retried from the committed offsets)
    ├── FatalKafkaError          librdkafka reported a fatal error (e.g. producer fenced)
    └── ScoringError             the model failed on a batch of validated events

Per-event problems are not exceptions of this tree: they are dead-lettered with a bounded reason
(`model.schema.REASONS`). Every message names the offending value and what was expected.
"""

from __future__ import annotations


class ConsumerError(Exception):
    """Root of every error raised by the consumer package."""


class ModelLoadError(ConsumerError):
    """The model artifact cannot be loaded (raised from `model.ArtifactError`)."""


class BrokerUnavailableError(ConsumerError):
    """No Kafka broker answered a metadata request in time."""


class KafkaConfigError(ConsumerError):
    """librdkafka refused the client configuration (an unknown or invalid property)."""


class DeliveryError(ConsumerError):
    """Outputs of a batch were not all acknowledged: the batch was not committed."""


class FatalKafkaError(ConsumerError):
    """A fatal librdkafka error: the client cannot continue and the process must exit."""


class ScoringError(ConsumerError):
    """The model raised or returned an unusable result on validated input."""
