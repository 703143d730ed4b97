"""Security on real brokers and real processes: SASL/PLAIN credentials passed through
--kafka-config / CONSUMER_KAFKA_CONFIG authenticate the producer and the consumer and never show
in their output nor on /metrics; the metrics server listens on the configured address only; a
flood of bogus categories and fields adds no metric label values.

The SASL tests start their own broker (a PLAINTEXT listener for the broker itself and for the
test's admin and reader, a SASL_PLAINTEXT listener for the clients under test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import pytest
from confluent_kafka.admin import AdminClient

from common.contracts.events import REASONS
from common.kafka import read_to_end
from common.kafka import topics as kafka_topics
from common.prometheus_text import parse
from consumer.settings import ConsumerSettings
from infra.kafka import LocalBroker, free_ports, sasl_client_config, sasl_scratch_broker

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-value"
SASL = sasl_client_config("alice", SECRET)


class SaslBroker:
    def __init__(self, broker: LocalBroker, sasl: str) -> None:
        self.broker = broker
        self.plain = broker.bootstrap_servers
        self.sasl = sasl


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    broker, sasl = sasl_scratch_broker(tmp_path_factory.mktemp("kafka-sasl"),
                                       users={"alice": SECRET})
    try:
        broker.start()
        broker.wait_ready(timeout=90)
        yield SaslBroker(broker, sasl)
    finally:
        broker.stop()


def run_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONSUMER_", "PRODUCER_"))}
    return {**env, "LOG_LEVEL": "DEBUG", **extra}


def flags(config: dict[str, str]) -> list[str]:
    return [arg for key, value in config.items() for arg in ("--kafka-config", f"{key}={value}")]


def scrape(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return resp.read().decode()


def create_topics(bootstrap: str, *names: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    kafka_topics.create_topics(admin, names, partitions=3, replication_factor=1, timeout=30)


def count_records(bootstrap: str, topic: str, timeout: float = 30.0) -> int:
    return len(read_to_end(bootstrap, topic, timeout=timeout))


def consumer_topic_flags(prefix: str) -> list[str]:
    out = ["--input-topic", f"{prefix}.in", "--output-topic", f"{prefix}.out",
           "--dlq-topic", f"{prefix}.dlq"]
    if "labels_topic" in ConsumerSettings.model_fields:
        out += ["--labels-topic", f"{prefix}.labels", "--drift-reports-topic", f"{prefix}.drift"]
    return out


@pytest.mark.slow
def test_sasl_credentials_authenticate_and_never_leak(
    sasl_broker: SaslBroker, model_dir: Path, tmp_path: Path
) -> None:
    prefix = "sec"
    create_topics(sasl_broker.plain, f"{prefix}.in", f"{prefix}.out", f"{prefix}.dlq",
                  f"{prefix}.labels", f"{prefix}.drift")
    # The producer: credentials as --kafka-config flags, librdkafka's own debug on.
    produced = subprocess.run(
        [sys.executable, "-m", "producer", "--bootstrap-servers", sasl_broker.sasl,
         "--topic", f"{prefix}.in", "--events", "300", "--rate", "0", "--no-create-topics",
         *flags({**SASL, "debug": "security"})],
        cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=120, check=False)
    assert produced.returncode == 0, produced.stderr[-3000:]
    assert "sent=300 delivered=300" in produced.stdout + produced.stderr
    assert SECRET not in produced.stdout + produced.stderr

    # The consumer: credentials from CONSUMER_KAFKA_CONFIG (JSON), debug logging everywhere.
    (port,) = free_ports(1)
    log = tmp_path / "consumer.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "consumer", "--bootstrap-servers", sasl_broker.sasl,
             *consumer_topic_flags(prefix), "--group-id", "sec-scorer", "--model-path",
             str(model_dir), "--metrics-port", str(port), "--metrics-addr", "127.0.0.1",
             "--lag-interval", "0.5"],
            cwd=REPO, env=run_env(CONSUMER_KAFKA_CONFIG=json.dumps({**SASL, "debug": "security"})),
            stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        pages: dict[str, str] = {}
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                pages = {path: scrape(port, path) for path in ("/metrics", "/healthz", "/readyz")}
            except OSError:
                time.sleep(0.3)
                continue
            if "diamond_events_consumed_total 300.0" in pages["/metrics"]:
                break
            time.sleep(0.3)
        listening = [c for c in psutil.Process(proc.pid).net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "'sasl.password': '***'" in text  # the config is logged, redacted
    assert SECRET not in text
    assert all(SECRET not in page and "alice" not in page for page in pages.values())
    assert count_records(sasl_broker.plain, f"{prefix}.out") == 300


@pytest.mark.slow
def test_a_wrong_password_fails_clearly_without_echoing_it(
    sasl_broker: SaslBroker, model_dir: Path
) -> None:
    wrong = "wr0ng-s3cr3t"
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "--bootstrap-servers", sasl_broker.sasl,
         "--model-path", str(model_dir), "--metrics-port", "0", "--metrics-addr", "127.0.0.1",
         "--broker-timeout", "5", *flags({**SASL, "sasl.password": wrong})],
        cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert [line for line in output.splitlines() if line.startswith("error: ")]
    assert wrong not in output and "Traceback" not in output


def test_invalid_kafka_config_is_reported_without_the_secret(model_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "consumer", *flags({**SASL, "group.id": "mine"})],
        cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "group.id" in result.stderr and SECRET not in result.stderr + result.stdout


def label_values(body: str) -> set[tuple[str, str, str]]:
    return {(name, k, v) for (name, labels) in parse(body).samples for k, v in labels
            if k not in ("le", "quantile")}


def bogus_events(n: int) -> list[bytes]:
    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        event = {"event_id": f"xyzzy-id-{i}", "carat": 0.5, "cut": f"xyzzy-cut-{i}",
                 "color": f"xyzzy-color-{i}", "clarity": f"xyzzy-clarity-{i}",
                 "depth": 61.0, "table": 56.0, "event_time": now}
        if i % 3 == 1:
            event = {**event, "cut": "Ideal", "color": "E", "clarity": "SI1",
                     f"xyzzy_field_{i}": i}
        elif i % 3 == 2:
            event = {**event, "cut": "Ideal", "color": "E", "clarity": "SI1",
                     "carat": f"xyzzy-number-{i}"}
        out.append(orjson.dumps(event))
    return out


@pytest.mark.slow
def test_bogus_categories_and_fields_add_no_label_values(
    new_topic, make_events, produce_values, consumer_settings, running_service
) -> None:
    topic_in, topic_out, topic_dlq = new_topic(3), new_topic(3), new_topic(3)
    extra = {}
    if "labels_topic" in ConsumerSettings.model_fields:
        extra = {"labels_topic": new_topic(3), "drift_reports_topic": new_topic(1)}
    keys, values, _ = make_events(500)
    produce_values(topic_in, values, keys)
    settings = consumer_settings(input_topic=topic_in, output_topic=topic_out,
                                 dlq_topic=topic_dlq, **extra)
    with running_service(settings, timeout=60) as service:
        port = service.metrics_port

        def settled(consumed: float) -> str:
            deadline = time.monotonic() + 60
            while True:
                body = scrape(port, "/metrics")
                if f"diamond_events_consumed_total {consumed}" in body and \
                        "diamond_consumer_lag_total 0.0" in body:
                    time.sleep(1.5)  # one more lag/drift round
                    return scrape(port, "/metrics")
                assert time.monotonic() < deadline, body[-2000:]
                time.sleep(0.3)

        before = settled(500.0)
        bogus = bogus_events(3000)
        produce_values(topic_in, bogus, [f"xyzzy-key-{i}".encode() for i in range(3000)])
        after = settled(3500.0)
    assert "xyzzy" not in after  # the marker of every bogus value, field and key
    assert label_values(after) == label_values(before)
    invalid = {labels[2] for labels in label_values(after)
               if labels[0] == "diamond_invalid_events_total"}
    assert invalid <= set(REASONS)  # the bounded reasons, whatever the input
