"""Replica identity (--replica-id): static membership, a stable transactional.id, and a process
fenced by a newer one with the same identity stopping cleanly. No broker: the client configs,
the error classification, and the service with its broker check replaced by a fenced failure."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import KafkaError, KafkaException
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from pydantic_settings import CliApp

from consumer.app import ScoringService
from consumer.edge.clients import (
    consumer_config,
    instance_id,
    leave_group,
    offsets_reader_config,
    producer_config,
)
from consumer.edge.errors import ClientErrors, is_fencing, replaced_by
from consumer.exceptions import DeliveryError, FatalKafkaError
from consumer.ops.metrics import ConsumerMetrics
from consumer.settings import ConsumerSettings
from tests.samples import StubModel

FENCED_CONSUMER = KafkaError(
    KafkaError._FATAL,
    "Fatal error: Broker: Static consumer fenced by other consumer with same group.instance.id: "
    "Fatal consumer error: Broker: Static consumer fenced by other consumer with same "
    "group.instance.id",
)  # what consume() returns once the group fenced our static member (librdkafka 2.x)
FENCED_PRODUCER = KafkaError(KafkaError._FENCED, "Failed to end transaction: Local: This "
                             "instance has been fenced by a newer instance", fatal=True)


def settings(**changes: object) -> ConsumerSettings:
    return ConsumerSettings(group_id="g", transactional_id_prefix="tx", **changes)  # type: ignore[arg-type]


# -- configuration ---------------------------------------------------------------------------


def test_a_replica_id_makes_a_static_member_with_a_stable_transactional_id() -> None:
    s = settings(replica_id="consumer-2")
    c = consumer_config(s)
    assert c["group.instance.id"] == "consumer-2"
    assert "session.timeout.ms" not in c  # librdkafka's: a shorter one risks self-fencing
    assert c["client.id"] == "diamond-scorer-consumer-2"
    p = producer_config(s)
    assert p["transactional.id"] == "tx.g.consumer-2"
    assert producer_config(s)["transactional.id"] == p["transactional.id"]  # every process
    assert p["client.id"] == "diamond-scorer-consumer-2"
    assert offsets_reader_config(s)["client.id"] == "diamond-scorer-lag-consumer-2"
    assert "group.instance.id" not in offsets_reader_config(s)  # it never joins
    assert instance_id(s) == "consumer-2"  # the drift-report key


def test_without_a_replica_id_every_process_is_new_to_the_group() -> None:
    s = settings()
    c = consumer_config(s)
    assert "group.instance.id" not in c and "session.timeout.ms" not in c
    first, second = producer_config(s)["transactional.id"], producer_config(s)["transactional.id"]
    assert first.startswith("tx.g.") and second.startswith("tx.g.") and first != second
    assert instance_id(s) == instance_id() != ""


def test_kafka_config_sets_the_session_timeout_of_a_static_member_too() -> None:
    s = settings(replica_id="r1", kafka_config={"session.timeout.ms": "30000"})
    assert consumer_config(s)["session.timeout.ms"] == "30000"
    assert consumer_config(s)["group.instance.id"] == "r1"


def test_the_replica_id_reaches_the_settings_from_flag_and_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from_flag = CliApp.run(ConsumerSettings, cli_args=["--replica-id", "pod-7"])
    monkeypatch.setenv("CONSUMER_REPLICA_ID", "pod-7")
    assert from_flag.replica_id == ConsumerSettings().replica_id == "pod-7"


@pytest.mark.parametrize(
    "changes",
    [
        {"replica_id": "has space"}, {"replica_id": "slash/no"}, {"replica_id": "x" * 201},
        {"kafka_config": {"group.instance.id": "r1"}},  # use --replica-id
    ],
)
def test_bad_replica_ids_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ConsumerSettings(**changes)  # type: ignore[arg-type]


# -- fenced: replaced by a newer process -------------------------------------------------------


@pytest.mark.parametrize("err", [
    FENCED_CONSUMER, FENCED_PRODUCER, KafkaError(KafkaError.FENCED_INSTANCE_ID),
    KafkaError(KafkaError.PRODUCER_FENCED),
])
def test_fencing_errors_are_recognised(err: KafkaError) -> None:
    assert is_fencing(err)


@pytest.mark.parametrize("err", [
    KafkaError(KafkaError._FATAL, "Fatal error: Broker: Invalid producer epoch"),
    KafkaError(KafkaError._TRANSPORT), KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED),
])
def test_other_errors_are_not_fencing(err: KafkaError) -> None:
    assert not is_fencing(err)


def test_the_fencing_error_is_found_behind_the_errors_raised_for_it() -> None:
    def fatal_from(err: KafkaError) -> FatalKafkaError:
        try:
            try:
                raise KafkaException(err)
            except KafkaException as exc:
                raise FatalKafkaError("fatal transactional error") from exc
        except FatalKafkaError as exc:
            return exc

    assert replaced_by(fatal_from(FENCED_PRODUCER)) is FENCED_PRODUCER
    assert replaced_by(fatal_from(KafkaError(KafkaError._TRANSPORT))) is None
    assert replaced_by(DeliveryError("no cause")) is None


def test_a_fenced_consumer_is_fatal_and_says_why() -> None:
    errors = ClientErrors(ConsumerMetrics(CollectorRegistry()))
    assert not FENCED_CONSUMER.fatal()  # librdkafka's consume() error says so: _FATAL decides
    with pytest.raises(FatalKafkaError) as caught:
        errors.on_consume_error(FENCED_CONSUMER, None, None)
    assert replaced_by(caught.value) is FENCED_CONSUMER


def test_a_fatal_error_callback_keeps_its_cause() -> None:
    errors = ClientErrors(ConsumerMetrics(CollectorRegistry()))
    errors(FENCED_PRODUCER)
    with pytest.raises(FatalKafkaError) as caught:
        errors.raise_if_fatal()
    assert replaced_by(caught.value) is not None
    assert replaced_by(caught.value).code() == KafkaError._FENCED  # type: ignore[union-attr]


def _service_failing_with(
    monkeypatch: pytest.MonkeyPatch, tiny_model: StubModel, err: KafkaError, **changes: object
) -> ScoringService:
    def fenced(_: ConsumerSettings) -> dict[str, int]:
        try:
            raise KafkaException(err)
        except KafkaException as exc:
            raise FatalKafkaError(f"fatal: {err}") from exc

    monkeypatch.setattr("consumer.app.check_broker", fenced)
    s = ConsumerSettings(drift_enabled=False, metrics_port=0, metrics_addr="127.0.0.1",
                         **changes)  # type: ignore[arg-type]
    return ScoringService(s, stop_event=threading.Event(), model=tiny_model)


def test_a_replica_fenced_by_its_successor_stops_cleanly(
    monkeypatch: pytest.MonkeyPatch, tiny_model: StubModel, caplog: pytest.LogCaptureFixture,
) -> None:
    service = _service_failing_with(monkeypatch, tiny_model, FENCED_PRODUCER, replica_id="r1")
    summary = service.run()  # no exception: python -m consumer exits 0
    assert summary.replaced and summary.consumed == 0
    assert service.health.stopping  # and everything it opened is closed
    assert any("replaced" in r.getMessage() and "'r1'" in r.getMessage()
               for r in caplog.records)


def test_without_a_replica_id_a_fence_is_a_failure(
    monkeypatch: pytest.MonkeyPatch, tiny_model: StubModel,
) -> None:
    service = _service_failing_with(monkeypatch, tiny_model, FENCED_PRODUCER)
    with pytest.raises(FatalKafkaError):
        service.run()
    assert not service.summary.replaced


def test_other_fatal_errors_stay_failures_with_a_replica_id(
    monkeypatch: pytest.MonkeyPatch, tiny_model: StubModel,
) -> None:
    err = KafkaError(KafkaError._FATAL, "Fatal error: something else")
    service = _service_failing_with(monkeypatch, tiny_model, err, replica_id="r1")
    with pytest.raises(FatalKafkaError):
        service.run()


def test_a_fence_soon_after_a_broker_outage_is_a_failure_to_restart(
    monkeypatch: pytest.MonkeyPatch, tiny_model: StubModel, caplog: pytest.LogCaptureFixture,
) -> None:
    """The group expired our session during the outage and librdkafka rejoined as a "newer"
    us (librdkafka #3437): exit 1, so that any restart policy brings the replica back."""
    service = _service_failing_with(monkeypatch, tiny_model, FENCED_PRODUCER, replica_id="r1")
    service.errors(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    with pytest.raises(FatalKafkaError):
        service.run()
    assert not service.summary.replaced
    assert any("broker outage" in r.getMessage() for r in caplog.records)


def test_an_outage_longer_ago_than_the_session_timeout_does_not_excuse_a_fence() -> None:
    now = [1000.0]
    errors = ClientErrors(ConsumerMetrics(CollectorRegistry()), clock=lambda: now[0])
    assert not errors.outage_within(75.0)
    errors(KafkaError(KafkaError._TRANSPORT, "Broker transport failure"))
    errors(KafkaError(KafkaError.REQUEST_TIMED_OUT, "one slow request"))  # not an outage
    now[0] += 75.0
    assert errors.outage_within(75.0)
    now[0] += 0.1
    assert not errors.outage_within(75.0)


# -- a graceful stop leaves the group, a static member too ------------------------------------


class LeavingConsumer:
    """unsubscribe(), then the assignment empties after `polls` consume() calls."""

    def __init__(self, polls: int, unsubscribe_error: KafkaError | None = None) -> None:
        self.polls, self.unsubscribe_error = polls, unsubscribe_error
        self.calls: list[str] = []

    def unsubscribe(self) -> None:
        self.calls.append("unsubscribe")
        if self.unsubscribe_error is not None:
            raise KafkaException(self.unsubscribe_error)

    def assignment(self) -> list[object]:
        return [object()] if self.calls.count("consume") < self.polls else []

    def consume(self, num_messages: int, timeout: float) -> list[object]:
        self.calls.append("consume")
        return []


def test_leaving_serves_the_consumer_until_its_partitions_are_revoked() -> None:
    consumer = LeavingConsumer(polls=3)
    leave_group(consumer, timeout=30)  # type: ignore[arg-type]
    assert consumer.calls == ["unsubscribe", "consume", "consume", "consume"]


def test_a_fenced_consumer_has_nothing_to_leave() -> None:
    consumer = LeavingConsumer(polls=3, unsubscribe_error=FENCED_CONSUMER)
    leave_group(consumer, timeout=30)  # type: ignore[arg-type]
    assert consumer.calls == ["unsubscribe"]
    other = LeavingConsumer(polls=3, unsubscribe_error=KafkaError(KafkaError._TRANSPORT))
    with pytest.raises(KafkaException):
        leave_group(other, timeout=30)  # type: ignore[arg-type]
