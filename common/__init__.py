"""Plumbing shared by the producer and the consumer: logging and Kafka client configuration."""

from common.kafka_config import client_config, redact
from common.logs import configure_logging

__all__ = ["client_config", "configure_logging", "redact"]
