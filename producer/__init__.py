"""Event simulator: a seeded diamond event stream, drift scenarios and delayed labels to Kafka.

`python -m producer --help` lists the settings (flags == PRODUCER_* environment variables).
In-process: ``run_producer(ProducerSettings(...))`` returns a `ProducerSummary`;
`EventGenerator` gives the same events without Kafka.
"""

from producer.app import ProducerSummary, StopRequest, handle_signals, run_producer
from producer.events import EventBatch, EventGenerator, load_test_rows, new_run_id
from producer.exceptions import (
    BrokerUnavailableError,
    ProducerError,
    TopicAuthorizationError,
    TopicError,
)
from producer.labels import LabelQueue
from producer.scenarios import SCENARIOS, Scenario, register
from producer.settings import ProducerSettings

__all__ = [
    "SCENARIOS",
    "BrokerUnavailableError",
    "EventBatch",
    "EventGenerator",
    "LabelQueue",
    "ProducerError",
    "ProducerSettings",
    "ProducerSummary",
    "Scenario",
    "StopRequest",
    "TopicAuthorizationError",
    "TopicError",
    "handle_signals",
    "load_test_rows",
    "new_run_id",
    "register",
    "run_producer",
]
