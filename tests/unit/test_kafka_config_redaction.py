"""Every value given through --kafka-config stays out of the logs and /metrics; keys may show
(issue 12.6). The security properties of librdkafka, each with a value found nowhere else."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pydantic_settings import CliApp

from common.kafka.config import client_config, redact
from consumer.app import ScoringService
from consumer.drift.build import report_producer_config
from consumer.edge.clients import build_admin, build_consumer, build_offsets_reader, build_producer
from consumer.exceptions import ConsumerError, KafkaToolkitError
from consumer.settings import ConsumerSettings
from producer.app import producer_config as producer_app_config
from producer.settings import ProducerSettings

# librdkafka's security properties (CONFIGURATION.md): protocol, SASL (PLAIN/SCRAM, GSSAPI,
# OAUTHBEARER incl. OIDC) and SSL. SASL_PLAINTEXT, so no SSL context (and no file) is built.
SECURITY = {
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "PLAIN",
    "sasl.username": "v-user-7f3a",
    "sasl.password": "v-pass-7f3a",
    "sasl.oauthbearer.config": "principal=v-obconfig-7f3a clientSecret=v-obsecret-7f3a",
    "sasl.oauthbearer.extensions": "v-ext-7f3a=1",
    "sasl.oauthbearer.client.id": "v-clientid-7f3a",
    "sasl.oauthbearer.client.secret": "v-clientsecret-7f3a",
    "sasl.oauthbearer.scope": "v-scope-7f3a",
    "sasl.oauthbearer.token.endpoint.url": "https://v-endpoint-7f3a.invalid/token",
    "sasl.kerberos.service.name": "v-ksvc-7f3a",
    "sasl.kerberos.principal": "v-kprincipal-7f3a",
    "sasl.kerberos.kinit.cmd": "v-kinit-7f3a",
    "sasl.kerberos.keytab": "/v-keytab-7f3a",
    "ssl.key.password": "v-keypassword-7f3a",
    "ssl.key.pem": "v-keypem-7f3a",
    "ssl.key.location": "/v-keylocation-7f3a",
    "ssl.certificate.pem": "v-certpem-7f3a",
    "ssl.certificate.location": "/v-certlocation-7f3a",
    "ssl.ca.pem": "v-capem-7f3a",
    "ssl.ca.location": "/v-calocation-7f3a",
    "ssl.crl.location": "/v-crl-7f3a",
    "ssl.keystore.location": "/v-keystore-7f3a",
    "ssl.keystore.password": "v-keystorepassword-7f3a",
    "ssl.cipher.suites": "v-ciphers-7f3a",
    "ssl.curves.list": "v-curves-7f3a",
    "ssl.sigalgs.list": "v-sigalgs-7f3a",
    "ssl.endpoint.identification.algorithm": "none",
}
# values that could be a word of any log line are not searched for, only the unique ones
UNIQUE = [value for value in SECURITY.values() if "7f3a" in value]
FLAGS = [arg for key, value in SECURITY.items() for arg in ("--kafka-config", f"{key}={value}")]


def settings() -> ConsumerSettings:
    return CliApp.run(ConsumerSettings, cli_args=[
        "--bootstrap-servers", "127.0.0.1:1", "--broker-timeout", "1", "--metrics-port", "0",
        *FLAGS,
    ])


def leaks(text: str) -> list[str]:
    return [value for value in UNIQUE if value in text]


def test_redact_hides_every_passed_through_value_and_keeps_the_keys() -> None:
    config = client_config("k:9092", {"client.id": "ours", "linger.ms": 5}, SECURITY)
    safe = redact(config)
    assert all(safe[key] == "***" for key in SECURITY)
    assert safe["client.id"] == "ours" and safe["linger.ms"] == 5  # our own values still show
    assert {key: config[key] for key in SECURITY} == SECURITY  # librdkafka gets them all


def test_no_value_appears_in_the_logs_of_any_client(caplog: pytest.LogCaptureFixture) -> None:
    s = settings()
    with caplog.at_level(logging.DEBUG):
        for build in (build_consumer, build_producer, build_admin, build_offsets_reader):
            client = build(s)
            if hasattr(client, "close"):
                client.close()
        logging.getLogger("test").info("report producer config: %s",
                                       redact(report_producer_config(s, "i-1")))
        producer_settings = ProducerSettings(kafka_config=SECURITY)  # type: ignore[arg-type]
        logging.getLogger("test").info("producer config: %s",
                                       redact(producer_app_config(producer_settings)))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "consumer config" in logged and "sasl.oauthbearer.config" in logged  # keys show
    assert leaks(logged) == []


def test_no_value_appears_in_the_service_logs_or_on_metrics(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = ScoringService(settings(), registry=CollectorRegistry())
    with caplog.at_level(logging.DEBUG), pytest.raises((ConsumerError, KafkaToolkitError)):
        service.run()  # no broker at 127.0.0.1:1: up to the broker check, then out
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert leaks(logged) == []
    body = generate_latest(service.registry).decode()  # what /metrics serves
    assert "diamond_model_info" in body and leaks(body) == []
