"""Errors raised by the retrainer package.

::

    RetrainerError                   root of the retrainer's own errors
    └── ChampionUnavailableError     the registry has no champion to compare a candidate with
    common.kafka.KafkaToolkitError   the Kafka setup errors, shared with the other services
    model.exceptions.ModelError      registry and artifact errors (RegistryError, ArtifactError)

`python -m retrainer` catches all three at startup (exit 1). A training that fails is counted
(`diamond_retrainer_trainings_total{outcome="failed"}`), logged, and the service goes on.
"""

from __future__ import annotations

from common.kafka.exceptions import BrokerUnavailableError, KafkaToolkitError, TopicError

__all__ = [
    "BrokerUnavailableError",
    "ChampionUnavailableError",
    "KafkaToolkitError",
    "RetrainerError",
    "TopicError",
]


class RetrainerError(Exception):
    """Root of the errors the retrainer package defines itself."""


class ChampionUnavailableError(RetrainerError):
    """The registry has no champion: train one first (`make train`)."""
