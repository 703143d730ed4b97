"""ensure_topics against a fake AdminClient: create what is missing, fail clearly otherwise."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from producer.exceptions import BrokerUnavailableError, TopicAuthorizationError, TopicError
from producer.topics import ensure_topics

LEADER = SimpleNamespace(leader=1)
TOPICS = {"events": "--topic / PRODUCER_TOPIC", "labels": "--labels-topic / X"}


class FakeAdmin:
    def __init__(self, existing: dict[str, int], create_errors: dict[str, int] | None = None,
                 metadata_error: KafkaError | None = None,
                 topic_errors: dict[str, int] | None = None) -> None:
        self.existing = dict(existing)
        self.create_errors = create_errors or {}
        self.metadata_error = metadata_error
        self.topic_errors = topic_errors or {}
        self.created: list[tuple[str, int, int]] = []

    def __call__(self, config: dict[str, Any]) -> FakeAdmin:
        self.config = config
        return self

    def list_topics(self, timeout: float) -> SimpleNamespace:
        if self.metadata_error is not None:
            raise KafkaException(self.metadata_error)
        topics = {name: SimpleNamespace(error=None, partitions=dict.fromkeys(range(n), LEADER))
                  for name, n in self.existing.items()}
        for name, code in self.topic_errors.items():
            topics[name] = SimpleNamespace(error=KafkaError(code), partitions={})
        return SimpleNamespace(topics=topics)

    def create_topics(self, new_topics: list[Any], **kwargs: Any) -> dict[str, Future]:
        futures = {}
        for new in new_topics:
            future: Future = Future()
            code = self.create_errors.get(new.topic)
            if code is None:
                self.created.append((new.topic, new.num_partitions, new.replication_factor))
                self.existing[new.topic] = new.num_partitions
                future.set_result(None)
            else:
                if code == KafkaError.TOPIC_ALREADY_EXISTS:  # someone else created it first
                    self.existing[new.topic] = new.num_partitions
                future.set_exception(KafkaException(KafkaError(code)))
            futures[new.topic] = future
        return futures


def run(admin: FakeAdmin) -> dict[str, int]:
    return ensure_topics({"bootstrap.servers": "b:1"}, TOPICS, partitions=3, replication_factor=1,
                         timeout=1.0, admin_factory=admin)


def test_missing_topics_are_created_existing_ones_kept() -> None:
    admin = FakeAdmin({"events": 6})
    assert run(admin) == {"events": 6, "labels": 3}
    assert admin.created == [("labels", 3, 1)]


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
    with pytest.raises(TopicError, match="cannot create topic 'events'"):
        run(admin)


def test_silent_cluster_names_the_bootstrap_servers() -> None:
    admin = FakeAdmin({}, metadata_error=KafkaError(KafkaError._TRANSPORT))
    with pytest.raises(BrokerUnavailableError, match="at b:1 within 1 s"):
        run(admin)
