"""docker-compose.yml, Dockerfile and .dockerignore, parsed and cross-checked (no Docker needed).

The compose file is checked against the code it runs: every CONSUMER_* / PRODUCER_* / TRAIN_*
variable must be a field of the settings class that reads it, the consumer's metrics port must
be the one Prometheus scrapes, and the Kafka image must run the version the local launcher uses.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from common.contracts.models import MODELS_TOPIC, MODELS_TOPIC_CONFIG

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
POM = ROOT / "infra" / "kafka" / "pom.xml"
PROMETHEUS_CONFIG = ROOT / "infra" / "prometheus" / "prometheus.yml"
PROMETHEUS_LOCAL_CONFIG = ROOT / "infra" / "prometheus" / "prometheus.local.yml"

SCRAPE_JOB = "diamond-consumer"
TOPICS = (
    "diamonds.events",
    "diamonds.predictions",
    "diamonds.dlq",
    "diamonds.labels",
    "diamonds.drift-reports",
)
# Environment prefix -> the settings class that reads those variables.
SETTINGS_CLASSES = {
    "CONSUMER_": ("consumer.settings", "ConsumerSettings"),
    "PRODUCER_": ("producer.settings", "ProducerSettings"),
    "TRAIN_": ("model.settings", "TrainSettings"),
    "RETRAINER_": ("retrainer.settings", "RetrainerSettings"),
}
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|API_KEY|PRIVATE_KEY", re.IGNORECASE)
ONE_SHOT_RESTART = (None, "no", "on-failure")


# --------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (compose allows a mapping or a KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def volume_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
            yield source, target
        else:
            yield entry.get("source", ""), entry["target"]


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def kafka_version_from_pom() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    assert version is not None and version.text, f"no <kafka.version> in {POM}"
    return version.text.strip()


def healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


# --------------------------------------------------------------------------------- compose


def test_compose_spec_without_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the compose spec has no `version:` key (obsolete)"
    assert {"kafka", "topics", "trainer", "consumer", "retrainer", "producer", "prometheus",
            "grafana"} <= set(
        compose["services"]
    )


def test_every_image_tag_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service.get("image")
        assert image or "build" in service, f"{name}: neither image nor build"
        if not image:
            continue
        if "@sha256:" in image:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} uses the moving tag latest"
        assert re.search(r"\d", tag), f"{name}: image {image!r} tag names no version"
        assert "${" not in image, f"{name}: image {image!r} depends on the environment"


def test_kafka_image_matches_the_local_launcher_version(
    services: dict[str, dict[str, Any]],
) -> None:
    version = kafka_version_from_pom()
    kafka_images = [s["image"] for s in services.values() if s.get("image", "").startswith(
        "apache/kafka:")]
    assert kafka_images, "no service runs apache/kafka"
    assert set(kafka_images) == {f"apache/kafka:{version}"}, (
        f"compose runs {sorted(set(kafka_images))}, infra/kafka/pom.xml pins Kafka {version}"
    )


def test_kafka_kraft_environment_is_complete(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["kafka"])
    required = {
        "CLUSTER_ID", "KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_LISTENERS",
        "KAFKA_ADVERTISED_LISTENERS", "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
        "KAFKA_INTER_BROKER_LISTENER_NAME", "KAFKA_CONTROLLER_LISTENER_NAMES",
        "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
    }
    assert required <= set(env), f"kafka lacks {sorted(required - set(env))}"
    listeners = dict(item.split("://", 1) for item in env["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://", 1) for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(
        ","))
    assert set(listeners) == set(protocols), "every listener needs a security protocol"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert advertised[env["KAFKA_INTER_BROKER_LISTENER_NAME"]] == "kafka:19092"
    assert "localhost:9092" in advertised.values(), "the host listener must be localhost:9092"


def test_bind_mounted_host_paths_exist_and_named_volumes_are_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]],
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source, target in volume_mounts(service):
            if is_bind(source):
                path = (ROOT / source).resolve()
                assert path.exists(), f"{name}: bind mount {source} -> {target}: {path} missing"
            else:
                assert source in declared, f"{name}: volume {source!r} not declared"


@pytest.mark.parametrize("prefix", sorted(SETTINGS_CLASSES))
def test_env_vars_are_fields_of_the_settings_class(
    prefix: str, services: dict[str, dict[str, Any]],
) -> None:
    module_name, class_name = SETTINGS_CLASSES[prefix]
    settings_class = getattr(importlib.import_module(module_name), class_name)
    assert settings_class.model_config.get("env_prefix") == prefix
    fields = {prefix + name.upper() for name in settings_class.model_fields}
    used = {
        (service_name, key)
        for service_name, service in services.items()
        for key in environment(service)
        if key.startswith(prefix)
    }
    assert used, f"no service sets a {prefix}* variable"
    unknown = sorted(f"{service}: {key}" for service, key in used if key not in fields)
    assert not unknown, (
        f"{class_name} has no field for {unknown}; its variables are {sorted(fields)}"
    )


def test_consumer_metrics_port_is_the_port_prometheus_scrapes(
    services: dict[str, dict[str, Any]],
) -> None:
    port = int(environment(services["consumer"])["CONSUMER_METRICS_PORT"])
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == SCRAPE_JOB)
    sd = job["dns_sd_configs"]
    assert [(c["names"], c["type"], c["port"]) for c in sd] == [(["consumer"], "A", port)], (
        "Prometheus must resolve the compose service `consumer` (one A record per replica) on "
        f"the consumer's metrics port {port}"
    )
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert f"127.0.0.1:{port}/readyz" in healthcheck_command(services["consumer"])


def test_local_prometheus_config_scrapes_the_default_metrics_port() -> None:
    from consumer.settings import ConsumerSettings

    default_port = ConsumerSettings.model_fields["metrics_port"].default
    config = yaml.safe_load(PROMETHEUS_LOCAL_CONFIG.read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == SCRAPE_JOB)
    assert job["static_configs"] == [{"targets": [f"127.0.0.1:{default_port}"]}]
    compose_config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    for key in ("global", "rule_files"):
        assert config[key] == compose_config[key], f"{key} differs between the two configs"


def test_consumer_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    consumer = services["consumer"]
    assert "container_name" not in consumer, "a fixed container_name prevents --scale"
    assert not consumer.get("ports"), "a published host port prevents --scale (use expose)"


def test_each_consumer_replica_has_an_identity_of_its_own(
    services: dict[str, dict[str, Any]],
) -> None:
    consumer = services["consumer"]
    # one fixed identity would be shared by every replica of `--scale`: they would fence each other
    assert "CONSUMER_REPLICA_ID" not in environment(consumer)
    assert "hostname" not in consumer, "a fixed hostname is shared by every replica"
    command = consumer["command"]
    assert command[:2] == ["sh", "-c"], "the identity is read in the container, by its shell"
    # Compose turns $$ into $: the shell then expands the container's own HOSTNAME
    script = shlex.split(command[2].replace("$$", "$"))
    assert script[:4] == ["exec", "python", "-m", "consumer"], script
    assert script[script.index("--replica-id") + 1] == "$HOSTNAME"
    from consumer.settings import ConsumerSettings

    assert "replica_id" in ConsumerSettings.model_fields


def test_no_hard_coded_secrets(services: dict[str, dict[str, Any]]) -> None:
    password = environment(services["grafana"])["GF_SECURITY_ADMIN_PASSWORD"]
    assert INTERPOLATION.match(password), f"grafana password {password!r} is hard-coded"
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and value:
                assert INTERPOLATION.match(value), f"{name}: {key} is hard-coded"


def test_depends_on_conditions_can_be_met(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            target = services[dependency]
            if condition == "service_healthy":
                assert "healthcheck" in target and not target["healthcheck"].get("disable"), (
                    f"{name} waits for {dependency} to be healthy, which has no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert target.get("restart") in ONE_SHOT_RESTART, (
                    f"{name} waits for {dependency} to complete, which restarts forever"
                )
            else:
                assert condition == "service_started", f"{name}: unknown condition {condition}"


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if service.get("restart") in ("always", "unless-stopped"):
            assert "healthcheck" in service, f"{name} runs forever without a healthcheck"


def test_consumer_healthcheck_uses_python_not_curl(services: dict[str, dict[str, Any]]) -> None:
    command = healthcheck_command(services["consumer"])
    assert "urllib" in command and "/readyz" in command
    assert "curl" not in command and "wget" not in command


def test_topics_service_creates_every_topic(services: dict[str, dict[str, Any]]) -> None:
    topics = services["topics"]
    script = " ".join(topics.get("command") or [])
    for topic in TOPICS:
        assert topic in script, f"topics does not create {topic}"
    assert "--partitions 3" in script and "--if-not-exists" in script
    assert depends_on(topics) == {"kafka": "service_healthy"}


def test_services_agree_on_topics_broker_and_model(services: dict[str, dict[str, Any]]) -> None:
    consumer = environment(services["consumer"])
    producer = environment(services["producer"])
    trainer = environment(services["trainer"])
    kafka = environment(services["kafka"])
    internal = kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")[0].split("://", 1)[1]
    assert consumer["CONSUMER_BOOTSTRAP_SERVERS"] == producer["PRODUCER_BOOTSTRAP_SERVERS"] == (
        internal
    )
    assert consumer["CONSUMER_INPUT_TOPIC"] == producer["PRODUCER_TOPIC"] == TOPICS[0]
    assert consumer["CONSUMER_LABELS_TOPIC"] == producer["PRODUCER_LABELS_TOPIC"]
    used = {v for k, v in consumer.items() if k.endswith("_TOPIC")}
    assert used <= set(TOPICS), f"consumer uses topics not created: {used - set(TOPICS)}"
    # The trainer and the retrainer register models where the consumer reads its champion:
    # the registry root, on the same named volume.
    retrainer = environment(services["retrainer"])
    registry_dir = trainer["TRAIN_REGISTRY_DIR"]
    assert consumer["CONSUMER_MODEL_PATH"] == retrainer["RETRAINER_REGISTRY_DIR"] == registry_dir
    mounts = {name: dict((t, s) for s, t in volume_mounts(services[name]))
              for name in ("trainer", "consumer", "retrainer")}
    assert {m[registry_dir] for m in mounts.values()} == {"registry"}
    assert mounts["trainer"][trainer["TRAIN_OUTPUT_DIR"]] == "model"
    assert depends_on(services["consumer"])["trainer"] == "service_completed_successfully"
    assert depends_on(services["retrainer"])["trainer"] == "service_completed_successfully"
    # the retrainer reads what the consumer and producer write, and announces on the models topic
    assert retrainer["RETRAINER_BOOTSTRAP_SERVERS"] == internal
    assert retrainer["RETRAINER_EVENTS_TOPIC"] == consumer["CONSUMER_INPUT_TOPIC"]
    assert retrainer["RETRAINER_LABELS_TOPIC"] == consumer["CONSUMER_LABELS_TOPIC"]
    assert retrainer["RETRAINER_DRIFT_REPORTS_TOPIC"] == consumer["CONSUMER_DRIFT_REPORTS_TOPIC"]
    assert retrainer["RETRAINER_MODELS_TOPIC"] == MODELS_TOPIC


def test_topics_service_creates_the_compacted_models_topic(
    services: dict[str, dict[str, Any]],
) -> None:
    script = " ".join(services["topics"].get("command") or [])
    assert re.search(rf"--topic {re.escape(MODELS_TOPIC)} --partitions 1\b", script)
    for key, value in MODELS_TOPIC_CONFIG.items():
        assert f"--config {key}={value}" in script


def test_retrainer_is_scraped_healthy_and_binds_every_interface(
    services: dict[str, dict[str, Any]],
) -> None:
    retrainer = services["retrainer"]
    env = environment(retrainer)
    assert env["RETRAINER_METRICS_ADDR"] == "0.0.0.0"  # noqa: S104
    assert str(env["RETRAINER_METRICS_PORT"]) in [str(p) for p in retrainer["expose"]]
    command = healthcheck_command(retrainer)
    assert f":{env['RETRAINER_METRICS_PORT']}/readyz" in command and "urllib" in command


def test_prometheus_and_grafana_mount_the_repo_configs(
    services: dict[str, dict[str, Any]],
) -> None:
    prometheus = {t: s for s, t in volume_mounts(services["prometheus"])}
    assert prometheus["/etc/prometheus/prometheus.yml"] == "./infra/prometheus/prometheus.yml"
    assert prometheus["/etc/prometheus/alerts.yml"] == "./infra/prometheus/alerts.yml"
    grafana = {t: s for s, t in volume_mounts(services["grafana"])}
    assert grafana["/etc/grafana/provisioning"] == "./infra/grafana/provisioning"
    assert grafana["/var/lib/grafana/dashboards"] == "./infra/grafana/dashboards"
    datasource = yaml.safe_load(
        (ROOT / "infra/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    url = urlsplit(datasource["url"])
    assert url.hostname in services and url.hostname == "prometheus"
    published = [str(p).rsplit(":", 1)[-1] for p in services["prometheus"].get("ports", [])]
    assert str(url.port) in published


# ------------------------------------------------------------------------------ Dockerfile


Stage = tuple[str, str | None, list[tuple[str, str]]]  # image, name, [(INSTRUCTION, args)]


def dockerfile_stages() -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages), continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            stages.append((image, name, []))
        elif instruction == "ARG" and not stages:
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip()
        elif stages:
            stages[-1][2].append((instruction, rest.strip()))
    return args, stages


def test_dockerfile_is_multi_stage_on_a_pinned_python_slim() -> None:
    _, stages = dockerfile_stages()
    assert len(stages) >= 2, "builder and runtime stages expected"
    names = {name for _, name, _ in stages if name}
    for image, _, _ in stages:
        if image in names:
            continue
        assert "$" not in image, f"unresolved base image {image}"
        repository, _, tag = image.partition(":")
        assert repository == "python", f"base image {image} is not the official python image"
        assert re.match(r"^3\.11(\.\d+)?-slim", tag), f"base image {image}: want python 3.11 slim"
        assert tag != "latest"
    final_image = stages[-1][0]
    builder_image = stages[0][0]
    assert final_image == builder_image, "the venv is copied across: same Python in both stages"


def test_final_stage_runs_as_non_root() -> None:
    _, stages = dockerfile_stages()
    users = [arg for instruction, arg in stages[-1][2] if instruction == "USER"]
    assert users, "the final stage has no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"final USER is {users[-1]}"


def test_final_stage_copies_the_venv_and_sources_without_build_tools() -> None:
    _, stages = dockerfile_stages()
    builder_name = stages[0][1]
    final = stages[-1][2]
    copies = [arg for instruction, arg in final if instruction == "COPY"]
    assert any(c.startswith(f"--from={builder_name} ") and "/opt/venv" in c for c in copies)
    sources = {
        shlex.split(c)[-2].rstrip("/") for c in copies if not c.startswith("--from=")
    }
    expected = {"model", "drift", "producer", "consumer", "retrainer", "common", "data"}
    assert expected <= sources, f"final stage lacks {sorted(expected - sources)}"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY source {source} missing from the repo"
    runs = " ".join(arg for instruction, arg in final if instruction == "RUN")
    for tool in ("apt-get install", "gcc", "build-essential", "pip install"):
        assert tool not in runs, f"final stage runs {tool!r}"


def test_final_stage_environment_and_command() -> None:
    _, stages = dockerfile_stages()
    final = stages[-1][2]
    env = " ".join(arg for instruction, arg in final if instruction == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    cmd = [arg for instruction, arg in final if instruction == "CMD"]
    assert cmd and json.loads(cmd[-1]) == ["python", "-m", "consumer"]


def test_containers_bind_the_metrics_server_on_every_interface(
    services: dict[str, dict[str, Any]],
) -> None:
    # the service's default is 127.0.0.1 (issue 12): a container must say 0.0.0.0 itself
    assert environment(services["consumer"])["CONSUMER_METRICS_ADDR"] == "0.0.0.0"  # noqa: S104
    _, stages = dockerfile_stages()
    env = " ".join(arg for instruction, arg in stages[-1][2] if instruction == "ENV")
    assert re.search(r"\bCONSUMER_METRICS_ADDR=0\.0\.0\.0(\s|$)", env)
    # the Kubernetes manifests rely on the image for the retrainer's address
    assert re.search(r"\bRETRAINER_METRICS_ADDR=0\.0\.0\.0(\s|$)", env)


def test_dockerignore_keeps_local_state_out_but_not_the_sources() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".cache", "artifacts", "tests", ".git"} <= patterns
    _, stages = dockerfile_stages()
    copied = {
        shlex.split(arg)[-2].rstrip("/").split("/")[0]
        for stage in stages
        for instruction, arg in stage[2]
        if instruction == "COPY" and not arg.startswith("--from=")
    }
    assert copied, "no COPY from the build context"
    assert not copied & patterns, f".dockerignore excludes copied paths {copied & patterns}"
