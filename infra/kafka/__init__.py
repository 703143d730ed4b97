"""Local Apache Kafka broker for development, tests and the demo, run from Maven jars.

``python -m infra.kafka fetch|start|stop|status`` is the command line (see ``__main__``);
``LocalBroker`` is the Python API used by the test fixtures and fault-injection runs;
``scratch_broker`` / ``sasl_scratch_broker`` build one of their own on free ports.
"""

from infra.kafka.exceptions import (
    BrokerError,
    BrokerFetchError,
    BrokerNotReady,
    BrokerStartError,
    BrokerToolMissing,
)
from infra.kafka.jars import ensure_libs
from infra.kafka.launcher import LocalBroker, probe_metadata
from infra.kafka.net import free_ports
from infra.kafka.properties import sasl_client_config, sasl_plain_overrides
from infra.kafka.scratch import sasl_scratch_broker, scratch_broker
from infra.kafka.settings import LocalKafkaSettings

__all__ = [
    "BrokerError",
    "BrokerFetchError",
    "BrokerNotReady",
    "BrokerStartError",
    "BrokerToolMissing",
    "LocalBroker",
    "LocalKafkaSettings",
    "ensure_libs",
    "free_ports",
    "probe_metadata",
    "sasl_client_config",
    "sasl_plain_overrides",
    "sasl_scratch_broker",
    "scratch_broker",
]
