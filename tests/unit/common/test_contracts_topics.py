"""Topic names: pinned (the names on the wire never change by accident) and the defaults of
every entry point."""

from __future__ import annotations

import os

from common.contracts import topics
from consumer import ConsumerSettings
from producer.settings import ProducerSettings


def test_the_default_names_are_pinned() -> None:
    assert topics.TOPICS == (
        "diamonds.events", "diamonds.predictions", "diamonds.dlq", "diamonds.labels",
        "diamonds.drift-reports",
    )
    assert all(0 < len(name) <= topics.MAX_TOPIC_NAME_LENGTH for name in topics.TOPICS)


def test_the_consumer_and_the_producer_default_to_the_contract(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith(("CONSUMER_", "PRODUCER_")):
            monkeypatch.delenv(name)
    consumer = ConsumerSettings()
    assert (
        consumer.input_topic, consumer.output_topic, consumer.dlq_topic, consumer.labels_topic,
        consumer.drift_reports_topic,
    ) == topics.TOPICS
    producer = ProducerSettings()
    assert (producer.topic, producer.labels_topic) == (topics.EVENTS_TOPIC, topics.LABELS_TOPIC)


def test_the_demo_runs_on_the_default_topics() -> None:
    from demo import settings as demo_settings

    assert demo_settings.TOPICS is topics.TOPICS
    assert (demo_settings.EVENTS_TOPIC, demo_settings.LABELS_TOPIC) == (
        topics.EVENTS_TOPIC, topics.LABELS_TOPIC,
    )
