"""Topic names: the defaults every entry point starts from (its `--*-topic` flags override them).

====================  ======================  ================================================
constant              default name            what flows on it
====================  ======================  ================================================
EVENTS_TOPIC          diamonds.events         diamond events to price
PREDICTIONS_TOPIC     diamonds.predictions    one prediction per valid event
DLQ_TOPIC             diamonds.dlq            one dead letter per event that cannot be scored
LABELS_TOPIC          diamonds.labels         delayed true prices
DRIFT_REPORTS_TOPIC   diamonds.drift-reports  one drift report per drift evaluation
====================  ======================  ================================================

docker-compose.yml spells the same names (tests/unit/test_compose.py checks that it does).
"""

from __future__ import annotations

EVENTS_TOPIC = "diamonds.events"
PREDICTIONS_TOPIC = "diamonds.predictions"
DLQ_TOPIC = "diamonds.dlq"
LABELS_TOPIC = "diamonds.labels"
DRIFT_REPORTS_TOPIC = "diamonds.drift-reports"
TOPICS: tuple[str, ...] = (
    EVENTS_TOPIC, PREDICTIONS_TOPIC, DLQ_TOPIC, LABELS_TOPIC, DRIFT_REPORTS_TOPIC,
)

# Kafka refuses longer topic names.
MAX_TOPIC_NAME_LENGTH = 249
