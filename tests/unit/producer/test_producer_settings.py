"""ProducerSettings: flags and PRODUCER_* variables are the same settings; bad values raise."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr
from pydantic_settings import CliApp

from common.kafka import redact
from producer import ProducerSettings
from producer.app import producer_config

FLAGS = [
    "--bootstrap-servers", "broker:9093", "--topic", "t.events", "--events", "500",
    "--duration", "12.5", "--rate", "0", "--scenario", "gradual-drift", "--seed", "7",
    "--drift-onset", "100", "--drift-ramp", "300", "--drift-strength", "0.5",
    "--partitions", "6", "--replication-factor", "3", "--labels", "--labels-topic", "t.labels",
    "--label-delay", "1.5", "--no-wait-labels", "--run-id", "r42", "--progress-interval", "2",
    "--linger-ms", "20", "--compression", "zstd",
    "--kafka-config", '{"security.protocol": "SASL_SSL", "sasl.password": "hunter2"}',
]
ENV = {
    "PRODUCER_BOOTSTRAP_SERVERS": "broker:9093", "PRODUCER_TOPIC": "t.events",
    "PRODUCER_EVENTS": "500", "PRODUCER_DURATION": "12.5", "PRODUCER_RATE": "0",
    "PRODUCER_SCENARIO": "gradual-drift", "PRODUCER_SEED": "7", "PRODUCER_DRIFT_ONSET": "100",
    "PRODUCER_DRIFT_RAMP": "300", "PRODUCER_DRIFT_STRENGTH": "0.5", "PRODUCER_PARTITIONS": "6",
    "PRODUCER_REPLICATION_FACTOR": "3", "PRODUCER_LABELS": "true",
    "PRODUCER_LABELS_TOPIC": "t.labels", "PRODUCER_LABEL_DELAY": "1.5",
    "PRODUCER_WAIT_LABELS": "false", "PRODUCER_RUN_ID": "r42",
    "PRODUCER_PROGRESS_INTERVAL": "2", "PRODUCER_LINGER_MS": "20",
    "PRODUCER_COMPRESSION": "zstd",
    "PRODUCER_KAFKA_CONFIG": '{"security.protocol": "SASL_SSL", "sasl.password": "hunter2"}',
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PRODUCER_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    s = ProducerSettings()
    assert (s.bootstrap_servers, s.topic, s.events, s.duration, s.rate) == (
        "127.0.0.1:9092", "diamonds.events", 10_000, None, 1000.0)
    assert (s.scenario, s.seed, s.drift_onset, s.drift_ramp, s.drift_strength) == (
        "baseline", 42, 0, 10_000, 1.0)
    assert (s.partitions, s.replication_factor, s.labels, s.labels_topic, s.label_delay) == (
        3, 1, False, "diamonds.labels", 5.0)
    assert s.run_id is None and s.wait_labels and s.create_topics and s.kafka_config == {}


def test_flags_and_environment_give_the_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from_flags = CliApp.run(ProducerSettings, cli_args=FLAGS)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    from_env = ProducerSettings()
    assert from_env == from_flags
    assert from_env.kafka_config["sasl.password"].get_secret_value() == "hunter2"
    assert (from_env.events, from_env.duration, from_env.labels, from_env.wait_labels) == (
        500, 12.5, True, False)


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODUCER_RATE", "10")
    assert CliApp.run(ProducerSettings, cli_args=["--rate", "20"]).rate == 20
    assert CliApp.run(ProducerSettings, cli_args=[]).rate == 10


def test_kafka_config_as_key_value_flags() -> None:
    s = CliApp.run(ProducerSettings, cli_args=[
        "--kafka-config", "security.protocol=SSL", "--kafka-config", "ssl.key.password=pw"])
    assert {k: v.get_secret_value() for k, v in s.kafka_config.items()} == {
        "security.protocol": "SSL", "ssl.key.password": "pw"}


def test_secrets_never_show_in_repr_or_redacted_config() -> None:
    s = ProducerSettings(kafka_config={"sasl.password": SecretStr("hunter2"),
                                       "security.protocol": SecretStr("SASL_SSL")})
    assert "hunter2" not in repr(s)
    config = producer_config(s)
    assert config["sasl.password"] == "hunter2"  # what librdkafka gets
    safe = redact(config)
    # every --kafka-config value is hidden (issue 12), not only the credential-like keys
    assert safe["sasl.password"] == "***" and safe["security.protocol"] == "***"
    assert safe["enable.idempotence"] is True and safe["compression.type"] == "lz4"


def test_duration_alone_drops_the_default_event_count(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProducerSettings(duration=60).events is None
    assert CliApp.run(ProducerSettings, cli_args=["--duration", "60"]).events is None
    monkeypatch.setenv("PRODUCER_DURATION", "60")
    assert ProducerSettings().events is None
    both = ProducerSettings(events=5, duration=60)
    assert (both.events, both.duration) == (5, 60)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate": -1}, "greater than or equal to 0"),
        ({"events": 0}, "greater than or equal to 1"),
        ({"duration": 0}, "greater than 0"),
        ({"events": None}, "events and duration are both null"),
        ({"scenario": "drifty"}, "unknown scenario 'drifty'; expected one of .*baseline"),
        ({"drift_strength": 11}, "less than or equal to 10"),
        ({"drift_ramp": 0}, "greater than or equal to 1"),
        ({"drift_onset": -5}, "greater than or equal to 0"),
        ({"partitions": 0}, "greater than or equal to 1"),
        ({"label_delay": -0.5}, "greater than or equal to 0"),
        ({"run_id": "has space"}, "run_id 'has space' must be 1-64 characters"),
        ({"labels": True, "labels_topic": "diamonds.events"}, "must differ from topic"),
        ({"compression": "brotli"}, "'none', 'gzip', 'snappy', 'lz4' or 'zstd'"),
        ({"progress_interval": 0}, "greater than 0"),
    ],
)
def test_bad_values_raise_naming_the_value_and_range(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ProducerSettings(**kwargs)


def test_settings_are_frozen() -> None:
    s = ProducerSettings()
    with pytest.raises(ValueError, match="frozen"):
        s.rate = 5
