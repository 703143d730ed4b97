"""Plumbing shared by the producer and the consumer: logging, Kafka client configuration and
settings errors without secrets."""

from common.kafka.config import client_config, redact
from common.logs import configure_logging
from common.validation import describe

__all__ = ["client_config", "configure_logging", "describe", "redact"]
