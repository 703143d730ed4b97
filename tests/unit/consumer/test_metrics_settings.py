"""Metrics against a fresh registry; settings from env == from flags; secrets never logged."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from pydantic_settings import CliApp

from consumer.edge.clients import build_consumer, build_producer, consumer_config, producer_config
from consumer.exceptions import KafkaConfigError
from consumer.ops.metrics import ConsumerMetrics, observe_many
from consumer.settings import ConsumerSettings
from model.schema import REASONS


def test_every_reason_is_pre_initialised_at_zero() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics(registry)
    for reason in REASONS:
        assert registry.get_sample_value("diamond_invalid_events_total", {"reason": reason}) == 0


def test_metric_names_and_values() -> None:
    registry = CollectorRegistry()
    m = ConsumerMetrics(registry)
    m.events_consumed.inc(3)
    m.set_model("hgb-abc", "hgb", "f" * 64)
    m.set_lag({("in", 0): 5, ("in", 1): 7})
    m.set_committed("in", 0, 100)
    m.end_to_end_latency.observe(0.002)
    assert registry.get_sample_value("diamond_events_consumed_total") == 3
    assert registry.get_sample_value(
        "diamond_model_info", {"version": "hgb-abc", "type": "hgb", "sha256": "f" * 64}
    ) == 1
    assert registry.get_sample_value("diamond_consumer_lag", {"topic": "in", "partition": "1"}) == 7
    assert registry.get_sample_value("diamond_consumer_lag_total") == 12
    assert registry.get_sample_value(
        "diamond_committed_offset", {"topic": "in", "partition": "0"}
    ) == 100
    assert registry.get_sample_value(
        "diamond_end_to_end_latency_seconds_bucket", {"le": "0.001"}
    ) == 0
    assert registry.get_sample_value(
        "diamond_end_to_end_latency_seconds_bucket", {"le": "0.0025"}
    ) == 1
    assert registry.get_sample_value(
        "diamond_end_to_end_latency_seconds_bucket", {"le": "60.0"}
    ) == 1
    m.forget_partition("in", 0)
    m.forget_partition("in", 9)  # never seen: no error
    p0 = {"topic": "in", "partition": "0"}
    assert registry.get_sample_value("diamond_consumer_lag", p0) is None
    for name in (
        "diamond_predictions_published_total", "diamond_dlq_published_total",
        "diamond_batches_total", "diamond_delivery_failures_total",
        "diamond_transactions_aborted_total", "diamond_consumer_up", "diamond_consumer_ready",
        "diamond_last_batch_timestamp_seconds", "diamond_batch_size_count",
        "diamond_scoring_duration_seconds_count", "diamond_batch_duration_seconds_count",
    ):
        assert registry.get_sample_value(name) == 0, name


def test_observe_many_equals_observe_one_by_one() -> None:
    values = np.array([0.0005, 0.001, 0.0011, 0.3, 0.3, 5.0, 60.0, 61.0, 1e6, -1.0])
    bulk, single = CollectorRegistry(), CollectorRegistry()
    histogram = ConsumerMetrics(bulk).end_to_end_latency
    observe_many(histogram, values)
    observe_many(histogram, np.array([]))
    one = ConsumerMetrics(single).end_to_end_latency
    for value in values:
        one.observe(float(value))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in single.collect()
        if metric.name == "diamond_end_to_end_latency_seconds"
        for s in metric.samples
        if not s.name.endswith("_created")
    }
    assert samples
    for (name, labels), expected in samples.items():
        assert bulk.get_sample_value(name, dict(labels)) == pytest.approx(expected), (name, labels)


def test_two_registries_do_not_clash() -> None:
    ConsumerMetrics(CollectorRegistry())
    ConsumerMetrics(CollectorRegistry())


FLAGS = [
    "--bootstrap-servers", "k1:9093,k2:9093", "--input-topic", "a", "--output-topic", "b",
    "--dlq-topic", "c", "--group-id", "g", "--model-path", "/tmp/m", "--metrics-port", "0",
    "--metrics-addr", "127.0.0.1", "--guarantee", "at-least-once", "--batch-size", "50",
    "--batch-timeout", "0.05", "--max-events", "10", "--lag-interval", "1",
    "--transactional-id-prefix", "tx", "--kafka-config", '{"security.protocol": "SASL_SSL"}',
    "--create-topics", "false", "--max-event-bytes", "1024", "--broker-timeout", "3",
]
ENV = {
    "CONSUMER_BOOTSTRAP_SERVERS": "k1:9093,k2:9093", "CONSUMER_INPUT_TOPIC": "a",
    "CONSUMER_OUTPUT_TOPIC": "b", "CONSUMER_DLQ_TOPIC": "c", "CONSUMER_GROUP_ID": "g",
    "CONSUMER_MODEL_PATH": "/tmp/m", "CONSUMER_METRICS_PORT": "0",
    "CONSUMER_METRICS_ADDR": "127.0.0.1", "CONSUMER_GUARANTEE": "at-least-once",
    "CONSUMER_BATCH_SIZE": "50", "CONSUMER_BATCH_TIMEOUT": "0.05", "CONSUMER_MAX_EVENTS": "10",
    "CONSUMER_LAG_INTERVAL": "1", "CONSUMER_TRANSACTIONAL_ID_PREFIX": "tx",
    "CONSUMER_KAFKA_CONFIG": '{"security.protocol": "SASL_SSL"}',
    "CONSUMER_CREATE_TOPICS": "false", "CONSUMER_MAX_EVENT_BYTES": "1024",
    "CONSUMER_BROKER_TIMEOUT": "3",
}


def _plain(settings: ConsumerSettings) -> dict[str, object]:
    data = settings.model_dump()
    data["kafka_config"] = {k: v.get_secret_value() for k, v in settings.kafka_config.items()}
    return data


def test_env_and_flags_give_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from_flags = CliApp.run(ConsumerSettings, cli_args=FLAGS)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    from_env = ConsumerSettings()
    assert _plain(from_flags) == _plain(from_env)
    assert from_env.guarantee == "at-least-once" and not from_env.exactly_once
    assert from_env.max_events == 10 and from_env.create_topics is False


def test_defaults() -> None:
    s = ConsumerSettings()
    assert s.guarantee == "exactly-once" and s.exactly_once
    assert (s.batch_size, s.batch_timeout, s.metrics_port, s.lag_interval) == (1000, 0.2, 8000, 5)
    assert s.max_events is None and s.create_topics and s.max_event_bytes == 4096
    assert s.model_path.name == "model"


@pytest.mark.parametrize(
    "changes",
    [
        {"batch_size": 0}, {"batch_timeout": 0}, {"metrics_port": 70000}, {"max_events": 0},
        {"guarantee": "at-most-once"}, {"lag_interval": -1}, {"max_event_bytes": 10},
        {"kafka_config": {"enable.auto.commit": "true"}},
        {"kafka_config": {"isolation.level": "read_uncommitted"}},
    ],
)
def test_invalid_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ConsumerSettings(**changes)  # type: ignore[arg-type]


def test_settings_are_frozen() -> None:
    s = ConsumerSettings()
    with pytest.raises(ValidationError):
        s.batch_size = 5  # type: ignore[misc]


def test_client_configs_enforce_the_guarantee() -> None:
    eos = ConsumerSettings(group_id="g", transactional_id_prefix="tx")
    c = consumer_config(eos)
    assert c["enable.auto.commit"] is False and c["enable.auto.offset.store"] is False
    assert c["isolation.level"] == "read_committed" and c["group.id"] == "g"
    p = producer_config(eos)
    assert p["transactional.id"].startswith("tx.g.") and p["acks"] == "all"
    assert producer_config(eos)["transactional.id"] != p["transactional.id"]  # unique per process
    alo = producer_config(ConsumerSettings(guarantee="at-least-once"))
    assert "transactional.id" not in alo and alo["enable.idempotence"] is True


def test_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = "hunter2-very-secret"
    settings = ConsumerSettings(
        bootstrap_servers="127.0.0.1:1",
        kafka_config={
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
            "sasl.username": "alice", "sasl.password": secret,
        },  # type: ignore[arg-type]
    )
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    with caplog.at_level(logging.DEBUG):
        consumer = build_consumer(settings)
        build_producer(settings)
        consumer.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "sasl.password" in logged and "'***'" in logged
    assert secret not in logged
    assert consumer_config(settings)["sasl.password"] == secret  # but the client gets it


def test_an_unknown_librdkafka_property_is_a_clear_error() -> None:
    settings = ConsumerSettings(kafka_config={"no.such.property": "1"})  # type: ignore[dict-item]
    with pytest.raises(KafkaConfigError, match="no.such.property"):
        build_consumer(settings)


def test_transactions_retry_sooner_unless_the_user_says_otherwise() -> None:
    # back-to-back transactions wait retry.backoff.ms after CONCURRENT_TRANSACTIONS (KAFKA-5477)
    assert producer_config(ConsumerSettings())["retry.backoff.ms"] == 20
    assert "retry.backoff.ms" not in producer_config(ConsumerSettings(guarantee="at-least-once"))
    tuned = ConsumerSettings(kafka_config={"retry.backoff.ms": "50"})  # type: ignore[dict-item]
    assert producer_config(tuned)["retry.backoff.ms"] == "50"
