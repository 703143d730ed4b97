"""common.kafka.topics against a fake AdminClient: the broker check, idempotent creation that
waits for leaders, errors that name the topic and its setting, best-effort deletion."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import KafkaError

from common.kafka import (
    BrokerUnavailableError,
    KafkaToolkitError,
    TopicAuthorizationError,
    TopicError,
    cluster_metadata,
    create_topics,
    delete_topics,
    partition_counts,
)
from common.kafka import topics as topics_module
from tests.unit.common.kafka_fakes import FakeAdmin

ORIGINS = {"events": "--topic / PRODUCER_TOPIC"}


@pytest.fixture(autouse=True)
def no_leader_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics_module, "LEADER_POLL", 0.0)


def test_metadata_of_a_live_cluster_is_returned() -> None:
    admin = FakeAdmin({"a": 2})
    metadata = cluster_metadata(admin, bootstrap_servers="b:1", timeout=1.0)
    assert set(metadata.topics) == {"a"}


def test_a_silent_cluster_is_one_broker_unavailable_error_naming_servers_timeout_and_hint() -> None:
    admin = FakeAdmin(metadata_error=KafkaError._TRANSPORT)
    with pytest.raises(BrokerUnavailableError) as error:
        cluster_metadata(admin, bootstrap_servers="b:1", timeout=2.5, hint="--broker-timeout")
    assert str(error.value) == (
        "no Kafka broker answered at b:1 within 2.5 s (Local: Broker transport failure): "
        "is it running? (--broker-timeout)")
    assert isinstance(error.value, KafkaToolkitError)


def test_partition_counts_keep_topics_with_a_leader_for_every_partition() -> None:
    admin = FakeAdmin({"ready": 3, "electing": 2}, topic_errors={
        "gone": KafkaError.UNKNOWN_TOPIC_OR_PART, "no-leader": KafkaError.LEADER_NOT_AVAILABLE})
    admin.leaderless["electing"] = 1
    metadata = admin.list_topics()
    names = ["ready", "electing", "gone", "no-leader", "absent"]
    assert partition_counts(metadata, names) == {"ready": 3}


def test_a_topic_that_may_not_be_described_is_an_authorisation_error_naming_its_setting() -> None:
    admin = FakeAdmin(topic_errors={"events": KafkaError.TOPIC_AUTHORIZATION_FAILED})
    with pytest.raises(TopicAuthorizationError,
                       match=r"describe topic 'events' \(set by --topic / PRODUCER_TOPIC\)"):
        partition_counts(admin.list_topics(), ["events"], origins=ORIGINS)


def test_an_unusable_topic_is_a_topic_error() -> None:
    admin = FakeAdmin(topic_errors={"events": KafkaError.TOPIC_EXCEPTION})
    with pytest.raises(TopicError, match="topic 'events' is unusable"):
        partition_counts(admin.list_topics(), ["events"])


def test_create_makes_each_topic_as_asked_and_waits_for_its_leaders() -> None:
    admin = FakeAdmin(leaderless_reads=3)
    counts = create_topics(admin, ["a", "b"], partitions=4, replication_factor=1,
                           config={"retention.ms": "1000"}, timeout=5.0)
    assert counts == {"a": 4, "b": 4}
    assert admin.created == [("a", 4, 1, {"retention.ms": "1000"}),
                             ("b", 4, 1, {"retention.ms": "1000"})]
    assert admin.leaderless == {"a": 0, "b": 0}  # every leaderless answer was waited out


def test_create_is_idempotent() -> None:
    admin = FakeAdmin({"a": 6}, create_errors={"a": KafkaError.TOPIC_ALREADY_EXISTS})
    assert create_topics(admin, ["a"], partitions=3, timeout=1.0) == {"a": 6}
    assert admin.created == []


def test_create_of_nothing_asks_nothing() -> None:
    admin = FakeAdmin(metadata_error=KafkaError._TRANSPORT)  # any call would raise
    assert create_topics(admin, [], partitions=3, timeout=1.0) == {}


def test_create_denied_is_an_authorisation_error_naming_topic_and_setting() -> None:
    admin = FakeAdmin(create_errors={"events": KafkaError.TOPIC_AUTHORIZATION_FAILED})
    with pytest.raises(TopicAuthorizationError,
                       match=r"create topic 'events' \(set by --topic / PRODUCER_TOPIC\)"):
        create_topics(admin, ["events"], partitions=3, timeout=1.0, origins=ORIGINS)


def test_other_creation_errors_are_topic_errors() -> None:
    admin = FakeAdmin(create_errors={"events": KafkaError.INVALID_REPLICATION_FACTOR})
    with pytest.raises(TopicError, match="cannot create topic 'events'"):
        create_topics(admin, ["events"], partitions=3, replication_factor=9, timeout=1.0)


def test_a_topic_that_never_gets_leaders_is_a_topic_error() -> None:
    admin = FakeAdmin(leaderless_reads=10**9)
    with pytest.raises(TopicError, match="'a' has no leader for every partition 0.2 s after"):
        create_topics(admin, ["a"], partitions=1, timeout=0.2)


def test_delete_is_best_effort_and_logs_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    admin = FakeAdmin({"a": 1, "b": 1})
    admin.delete_errors = {"a"}
    with caplog.at_level(logging.WARNING):
        delete_topics(admin, ["a", "b"], timeout=1.0)
    assert admin.deleted == ["b"]
    assert "could not delete topic a" in caplog.text
