"""Security without a broker: credentials reach every librdkafka config and nothing else (logs,
settings errors, /metrics), the metrics server binds only the address it is given, and input
size is checked before any parser sees the bytes.

Covered elsewhere, not repeated here: a tampered model is refused before unpickling with a clear
error and exit code 1 (tests/unit/model/test_artifact.py, tests/integration/
test_consumer_process.py::test_tampered_model_exits_non_zero_with_one_clear_line).
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import time
import urllib.request
from types import SimpleNamespace

import numpy as np
import orjson
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import ValidationError
from pydantic_settings import CliApp

import consumer.pipeline.decode as decode
from common.validation import describe
from consumer.edge.clients import (
    admin_config,
    build_admin,
    build_consumer,
    build_offsets_reader,
    build_producer,
    consumer_config,
    offsets_reader_config,
    producer_config,
)
from consumer.ops.http import HealthState, MetricsServer
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.batch import decode_batch
from consumer.pipeline.decode import Rejected, decode_event
from consumer.pipeline.envelope import EnvelopeLimits
from consumer.settings import ConsumerSettings
from model.features import CATEGORIES, FEATURES, TARGET
from model.schema import MAX_EVENT_BYTES
from producer.app import producer_config as producer_app_config
from producer.app import run_producer
from producer.events import EventGenerator
from producer.settings import ProducerSettings
from tests.chaos.corpus import Poison, poison_corpus, poison_headers, poison_key
from tests.unit.consumer.consumer_fakes import FakeMessage

SECRET = "s3cr3t-value"
SASL = {
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanism": "PLAIN",
    "sasl.username": "alice",
    "sasl.password": SECRET,
}
SASL_FLAGS = [arg for key, value in SASL.items() for arg in ("--kafka-config", f"{key}={value}")]


def from_flags() -> ConsumerSettings:
    return CliApp.run(ConsumerSettings, cli_args=["--bootstrap-servers", "127.0.0.1:1",
                                                  *SASL_FLAGS])


def from_env(monkeypatch: pytest.MonkeyPatch) -> ConsumerSettings:
    monkeypatch.setenv("CONSUMER_KAFKA_CONFIG", json.dumps(SASL))
    monkeypatch.setenv("CONSUMER_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    return ConsumerSettings()


@pytest.mark.parametrize("source", ["flags", "env"])
def test_sasl_settings_reach_every_librdkafka_config(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = from_flags() if source == "flags" else from_env(monkeypatch)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
    for config in (consumer_config(settings), producer_config(settings),
                   admin_config(settings), offsets_reader_config(settings)):
        assert {k: config[k] for k in SASL} == SASL  # plain text for librdkafka only


def test_no_client_logs_the_secret_even_with_librdkafka_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = CliApp.run(ConsumerSettings, cli_args=[
        "--bootstrap-servers", "127.0.0.1:1", *SASL_FLAGS, "--kafka-config", "debug=conf"])
    with caplog.at_level(logging.DEBUG):
        clients = [build_consumer(settings), build_producer(settings), build_admin(settings),
                   build_offsets_reader(settings)]
        for client in clients:
            client.poll(0.2) if hasattr(client, "poll") else None
        for client in clients:
            if hasattr(client, "close"):
                client.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "sasl.password" in logged  # the keys are logged (redacted), so this test can fail
    assert SECRET not in logged


def test_invalid_settings_never_echo_a_secret() -> None:
    with pytest.raises(ValidationError) as info:
        CliApp.run(ConsumerSettings, cli_args=[*SASL_FLAGS, "--kafka-config", "group.id=x",
                                               "--batch-size", "0"])
    text = describe(info.value)  # what the entry points print (pydantic's str() shows inputs)
    assert SECRET not in text
    assert "group.id" in text and "batch_size" in text
    with pytest.raises(ValidationError) as info:
        ProducerSettings(kafka_config={"sasl.password": 12345})  # type: ignore[dict-item]
    assert "12345" not in describe(info.value) and "sasl.password" in describe(info.value)


def test_metrics_output_has_no_secret() -> None:
    settings = from_flags()
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    metrics.set_model("hgb-test", "hgb", "0" * 64)
    body = generate_latest(registry).decode()
    assert SECRET not in body and "alice" not in body
    assert settings.kafka_config["sasl.password"].get_secret_value() == SECRET


def test_the_producer_passes_the_secret_to_librdkafka_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = CliApp.run(ProducerSettings, cli_args=[
        "--bootstrap-servers", "127.0.0.1:1", "--events", "5", "--rate", "0",
        "--no-create-topics", *SASL_FLAGS])
    assert {k: producer_app_config(settings)[k] for k in SASL} == SASL
    seen: list[dict[str, object]] = []

    class Recording:
        def __init__(self, config: dict[str, object]) -> None:
            seen.append(config)
            self.pending: list[object] = []

        def produce(self, topic: str, **kwargs: object) -> None:
            self.pending.append(kwargs["on_delivery"])

        def poll(self, timeout: float = 0) -> int:
            for callback in self.pending:
                callback(None, SimpleNamespace())  # type: ignore[operator]
            self.pending.clear()
            return 0

        def flush(self, timeout: float = 0) -> int:
            return self.poll()

        def __len__(self) -> int:
            return len(self.pending)

    rows = pd.DataFrame({
        **{name: np.full(4, 1.0) for name in ("carat", "depth", "table")},
        **{name: [values[0]] * 4 for name, values in CATEGORIES.items()},
        TARGET: [500] * 4,
    })[[*FEATURES, TARGET]]
    with caplog.at_level(logging.DEBUG):
        summary = run_producer(settings, generator=EventGenerator(rows, run_id="sec"),
                               producer_factory=Recording)
    assert summary.ok and seen[0]["sasl.password"] == SECRET
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "sasl.password" in logged and SECRET not in logged


def test_metrics_server_binds_only_the_configured_address() -> None:
    server = MetricsServer(CollectorRegistry(), HealthState(30.0), "127.0.0.1", 0).start()
    try:
        assert server._server is not None
        assert server._server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as r:
            assert r.status == 200
        # Another loopback address of this machine: nothing listens there.
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex(("127.0.0.2", server.port)) == errno.ECONNREFUSED
    finally:
        server.stop()


def _tripwire(*_: object, **__: object) -> object:
    raise AssertionError("an oversize payload reached the JSON parser")


def test_oversize_input_never_reaches_a_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, obj in list(vars(decode).items()):
        if obj is orjson or obj is json:
            monkeypatch.setattr(decode, name, SimpleNamespace(
                loads=_tripwire, JSONDecodeError=getattr(obj, "JSONDecodeError", ValueError)))
        elif obj in (orjson.loads, json.loads):
            monkeypatch.setattr(decode, name, _tripwire)
    nested = b"[" * 5_000_000 + b"]" * 5_000_000  # 10 MB, 5 million levels deep
    # the tripwire, not a clock, proves the size check runs first
    result = decode_event(nested, MAX_EVENT_BYTES)
    assert isinstance(result, Rejected) and result.reason == "oversize"
    assert "10000000 bytes" in result.error


def test_input_just_under_the_limit_is_parsed_and_just_over_is_not() -> None:
    pad = b'{"pad": "' + b"x" * (MAX_EVENT_BYTES - 11) + b'"}'
    assert len(pad) == MAX_EVENT_BYTES
    under = decode_event(pad, MAX_EVENT_BYTES)
    assert isinstance(under, Rejected) and under.reason == "missing_field"  # parsed
    over = decode_event(pad + b" ", MAX_EVENT_BYTES)
    assert isinstance(over, Rejected) and over.reason == "oversize"


@pytest.mark.parametrize("item", poison_corpus(), ids=lambda item: item.name)
def test_every_poison_corpus_item_gets_its_reason(item: Poison) -> None:
    """The chaos corpus, offline: each bad input gets its specific dead-letter reason (e.g. a
    1e999 literal is non_finite, not 'not JSON'), whatever its size or nesting depth; the
    record's key and headers and the consumer's clock count too (the consumer's decode)."""
    if not item.needs_record:
        result = decode_event(item.value, MAX_EVENT_BYTES)
        assert isinstance(result, Rejected), item.name
        assert result.reason == item.reason, result.error
    message = FakeMessage(item.value, _key=poison_key(7, item), _headers=item.headers)
    now_ms = int(time.time() * 1000)
    batch, rejected = decode_batch("in", [message], MAX_EVENT_BYTES, envelope=EnvelopeLimits(),
                                   latest_event_time_ms=now_ms + 3_600_000)
    assert len(batch) == 0 and len(rejected) == 1, item.name
    assert rejected[0][1].reason == item.reason, rejected[0][1].error


def test_the_corpus_record_items_are_valid_events_but_for_their_record() -> None:
    """The key, header and clock items carry a good value: only the record makes them poison."""
    items = [item for item in poison_corpus() if item.needs_record]
    assert {item.reason for item in items} == {"invalid_key", "invalid_headers",
                                               "invalid_event_time"}
    for item in items:
        assert not isinstance(decode_event(item.value, MAX_EVENT_BYTES), Rejected), item.name
    big = next(item for item in items if item.name == "key-999780-bytes")
    assert len(poison_key(0, big)) > 999_780
    assert poison_headers(poison_key(3, next(i for i in items if i.name == "headers-1000")))
    assert poison_headers(poison_key(3, big)) is None and poison_headers(b"other") is None
