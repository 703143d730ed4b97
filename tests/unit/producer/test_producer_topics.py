"""ensure_topics against a fake AdminClient: create what is missing, fail clearly otherwise,
naming the setting that chose the topic."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from producer.exceptions import BrokerUnavailableError, TopicAuthorizationError, TopicError
from producer.topics import ensure_topics
from tests.unit.common.kafka_fakes import FakeAdmin

TOPICS = {"events": "--topic / PRODUCER_TOPIC", "labels": "--labels-topic / X"}


def run(admin: FakeAdmin) -> dict[str, int]:
    configs: list[dict] = []

    def factory(config: dict) -> FakeAdmin:
        configs.append(config)
        return admin

    counts = ensure_topics({"bootstrap.servers": "b:1"}, TOPICS, partitions=3,
                           replication_factor=1, timeout=1.0, admin_factory=factory)
    assert configs == [{"bootstrap.servers": "b:1"}]
    return counts


def test_missing_topics_are_created_existing_ones_kept() -> None:
    admin = FakeAdmin({"events": 6})
    assert run(admin) == {"events": 6, "labels": 3}
    assert admin.created == [("labels", 3, 1, {})]


def test_topic_created_concurrently_is_fine() -> None:
    admin = FakeAdmin({}, create_errors={"labels": KafkaError.TOPIC_ALREADY_EXISTS})
    assert run(admin) == {"events": 3, "labels": 3}


def test_authorisation_error_names_topic_and_setting() -> None:
    admin = FakeAdmin({"labels": 3}, create_errors={
        "events": KafkaError.TOPIC_AUTHORIZATION_FAILED})
    with pytest.raises(TopicAuthorizationError, match=r"'events' \(set by --topic / PRODUCER"):
        run(admin)


def test_describe_denied_is_an_authorisation_error() -> None:
    admin = FakeAdmin({"labels": 3}, topic_errors={
        "events": KafkaError.TOPIC_AUTHORIZATION_FAILED})
    with pytest.raises(TopicAuthorizationError, match="describe topic 'events'"):
        run(admin)


def test_other_creation_error_is_a_topic_error() -> None:
    admin = FakeAdmin({}, create_errors={"events": KafkaError.INVALID_REPLICATION_FACTOR})
    with pytest.raises(TopicError, match=r"cannot create topic 'events' \(--topic / PRODUCER"):
        run(admin)


def test_silent_cluster_names_the_bootstrap_servers_and_the_settings() -> None:
    admin = FakeAdmin({}, metadata_error=KafkaError._TRANSPORT)
    with pytest.raises(BrokerUnavailableError,
                       match=r"at b:1 within 1 s .*PRODUCER_BOOTSTRAP_SERVERS, --admin-timeout"):
        run(admin)
