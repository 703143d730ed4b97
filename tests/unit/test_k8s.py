"""infra/k8s: every kustomization renders and validates offline, and what it renders agrees
with the code it runs (settings, image, ports, volumes) and with its generated sources.

The renderer (infra.k8s.kustomize) is cross-checked against `kubectl kustomize` where kubectl
exists; everything else needs neither kubectl nor a cluster. Figures (probes, resources,
autoscaling) are checked in test_k8s_figures.py.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.k8s import K8S_DIR, KUSTOMIZATIONS, RenderError, SchemaError, render, validate
from infra.k8s.__main__ import main
from infra.k8s.generate import (
    ALERTS_FILE,
    DASHBOARD_FILE,
    dump,
    stale_files,
)

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "diamond-monitor"
IMAGE = "diamond-monitor"
# Entry point of a container of our image -> the settings class reading its environment.
SETTINGS_CLASSES = {
    "consumer": ("CONSUMER_", "consumer.settings", "ConsumerSettings"),
    "producer": ("PRODUCER_", "producer.settings", "ProducerSettings"),
    "retrainer": ("RETRAINER_", "retrainer.settings", "RetrainerSettings"),
}
# Variables of no settings class that a container may still set.
GENERAL_VARS = {"LOG_LEVEL"}
# The only Secret the manifests refer to; it is created outside the repository.
SECRET_NAMES = {"kafka-client"}
PASSWORD_LIKE = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|API_KEY|PRIVATE_KEY", re.I)
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    return {name: render(K8S_DIR / name) for name in KUSTOMIZATIONS}


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def pod_spec(obj: Obj) -> Obj | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        spec: Obj = obj["spec"]["template"]["spec"]
        return spec
    return None


def containers(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(workload, container) for every container and init container."""
    for obj in objects:
        spec = pod_spec(obj)
        for container in (spec or {}).get("initContainers", []) + (spec or {}).get(
            "containers", []
        ):
            yield obj, container


def entry_point(container: Obj) -> str:
    """`python -m <package>` of a container of our image (its Dockerfile CMD by default)."""
    command = container.get("command", []) + container.get("args", [])
    assert command[:2] == ["python", "-m"], f"{container['name']}: unexpected command {command}"
    return str(command[2])


def strings(node: Any) -> Iterator[tuple[str, str]]:
    """(key, value) of every string in a document; list items carry their parent's key."""
    stack: list[tuple[str, Any]] = [("", node)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((key, v) for v in value)
        elif isinstance(value, str):
            yield key, value


# ----------------------------------------------------------------------- render and validate


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_kustomization_renders_into_one_namespace(
    name: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[name]
    assert objects, f"{name} renders nothing"
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), f"{name}: duplicate objects"
    for obj in objects:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == NAMESPACE
        else:
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["metadata"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == NAMESPACE


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_object_validates_against_its_schema(
    name: str, rendered: dict[str, list[Obj]]
) -> None:
    for obj in rendered[name]:
        assert validate(obj) == [], f"{name}: {obj['kind']}/{obj['metadata']['name']}"


def test_validator_rejects_unknown_and_mistyped_fields(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["overlays/external-kafka"]
    statefulset = copy.deepcopy(find(objects, "StatefulSet", "diamond-consumer"))
    statefulset["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert validate(statefulset)
    scaled = copy.deepcopy(find(objects, "ScaledObject", "diamond-consumer"))
    scaled["spec"]["maxReplicaCount"] = "3"
    assert validate(scaled)
    scaled = copy.deepcopy(find(objects, "ScaledObject", "diamond-consumer"))
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 21000
    assert validate(scaled)
    monitor = copy.deepcopy(find(objects, "PodMonitor", "diamond-monitor"))
    monitor["spec"]["podMetricsEndpoints"][0]["intervall"] = "5s"
    assert validate(monitor)
    rule = copy.deepcopy(find(objects, "PrometheusRule", "diamond-monitor-alerts"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten seconds"
    assert validate(rule)
    auth = copy.deepcopy(find(objects, "TriggerAuthentication", "kafka-client"))
    del auth["spec"]["secretTargetRef"][0]["key"]
    assert validate(auth)


def test_validator_refuses_a_kind_without_a_schema() -> None:
    with pytest.raises(SchemaError, match="no schema"):
        validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_renderer_agrees_with_kubectl_kustomize(
    name: str, rendered: dict[str, list[Obj]]
) -> None:
    out = subprocess.run(  # noqa: S603 - fixed arguments
        ["kubectl", "kustomize", str(K8S_DIR / name)],  # noqa: S607
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    theirs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(out) if o}
    ours = {(o["kind"], o["metadata"]["name"]): o for o in rendered[name]}
    assert ours.keys() == theirs.keys()
    for key, obj in ours.items():
        assert obj == theirs[key], f"{name}: {key} differs from kubectl kustomize"


def test_renderer_refuses_what_is_outside_its_subset(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    kustomization = tmp_path / "kustomization.yaml"
    kustomization.write_text("resources: [cm.yaml]\ncommonLabels: {a: b}\n")
    with pytest.raises(RenderError, match="commonLabels"):
        render(tmp_path)
    kustomization.write_text(
        "resources: [cm.yaml]\npatches:\n  - target: {kind: ConfigMap}\n"
        "    patch: |\n      metadata:\n        labels: {a: b}\n"
    )
    with pytest.raises(RenderError, match="JSON 6902"):
        render(tmp_path)
    kustomization.write_text("configMapGenerator:\n  - name: x\n    literals: [a=b]\n")
    with pytest.raises(RenderError, match="disableNameSuffixHash"):
        render(tmp_path)
    kustomization.write_text(
        "resources: [cm.yaml]\npatches:\n  - target: {kind: ConfigMap, name: b}\n"
        "    patch: '[{op: add, path: /data, value: {}}]'\n"
    )
    with pytest.raises(RenderError, match="matches no object"):
        render(tmp_path)


def test_renderer_applies_the_subset_as_kustomize_does(tmp_path: Path) -> None:
    # the same expectations kubectl kustomize meets (checked above where kubectl exists),
    # spelled out for machines without it
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text(
        "namespace: ns\nresources: [app.yaml, ns.yaml]\n"
        "labels:\n  - pairs: {team: a}\n    includeTemplates: true\n"
    )
    (base / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n")
    (base / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n"
        "  selector: {matchLabels: {app: a}}\n  template:\n    metadata:\n"
        "      labels: {app: a}\n    spec:\n      containers:\n"
        "        - {name: c, image: 'img', env: [{name: A, value: '1'}, {name: B, value: '2'}]}\n"
        "        - {name: d, image: 'other:1'}\n"
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "data.txt").write_text("payload\n")
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\nimages:\n  - {name: img, newTag: '2.0'}\n"
        "configMapGenerator:\n  - name: files\n    files: [key=data.txt]\n"
        "    options: {disableNameSuffixHash: true, labels: {l: v}}\n"
        "patches:\n  - target: {kind: Deployment, name: app}\n    patch: |\n"
        "      - {op: replace, path: /spec/template/spec/containers/0/env/0, value: {name: A}}\n"
        "      - {op: remove, path: /spec/template/spec/containers/0/env/1}\n"
        "      - {op: add, path: /spec/template/spec/containers/0/env/-, value: {name: C}}\n"
        "      - {op: add, path: /spec/replicas, value: 2}\n"
    )
    objects = {o["kind"]: o for o in render(overlay)}
    assert objects["Namespace"]["metadata"] == {"name": "ns", "labels": {"team": "a"}}
    deployment = objects["Deployment"]
    assert deployment["metadata"] == {"name": "app", "namespace": "ns", "labels": {"team": "a"}}
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "a"}}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "a", "team": "a"}
    first, second = template["spec"]["containers"]
    assert first["image"] == "img:2.0" and second["image"] == "other:1"
    assert first["env"] == [{"name": "A"}, {"name": "C"}]
    assert objects["ConfigMap"] == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "files", "labels": {"l": "v"}},
        "data": {"key": "payload\n"},
    }


def test_command_line_checks_everything_and_finds_nothing_stale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["generate", "--check"]) == 0
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    for name in KUSTOMIZATIONS:
        assert f"{name}: " in out


# -------------------------------------------------------------------- generated from sources


def test_generated_files_match_their_sources() -> None:
    assert stale_files() == [], "run `python -m infra.k8s generate`"


def test_prometheus_rule_is_the_alert_rules_file(rendered: dict[str, list[Obj]]) -> None:
    source = yaml.safe_load(ALERTS_FILE.read_text())
    for name in ("monitoring", "overlays/local", "overlays/external-kafka"):
        rule = find(rendered[name], "PrometheusRule", "diamond-monitor-alerts")
        assert rule["spec"] == source
        assert dump(rule["spec"]["groups"]) == dump(source["groups"])
        assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_dashboard_configmap_is_the_dashboard_byte_for_byte(
    rendered: dict[str, list[Obj]],
) -> None:
    for name in ("monitoring", "overlays/local", "overlays/external-kafka"):
        config_map = find(rendered[name], "ConfigMap", "diamond-monitor-dashboard")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert list(config_map["data"]) == [DASHBOARD_FILE.name]
        assert config_map["data"][DASHBOARD_FILE.name].encode() == DASHBOARD_FILE.read_bytes()
        assert json.loads(config_map["data"][DASHBOARD_FILE.name])["uid"] == "diamond-monitor"


# ------------------------------------------------------------------------------- containers


def retrainer_merged() -> bool:
    try:
        return importlib.util.find_spec("retrainer.settings") is not None
    except ModuleNotFoundError:
        return False


def our_image(container: Obj) -> bool:
    return str(container["image"]).split(":")[0] == IMAGE


def settings_class(package: str) -> tuple[str, Any]:
    prefix, module_name, class_name = SETTINGS_CLASSES[package]
    if package == "retrainer":
        # the retrainer is built on another branch: this check runs once it is merged
        pytest.importorskip(module_name)
    return prefix, getattr(importlib.import_module(module_name), class_name)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_environment_variable_is_a_real_setting(
    name: str, rendered: dict[str, list[Obj]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = [(w, c) for w, c in containers(rendered[name]) if our_image(c)]
    for workload, container in ours:
        package = entry_point(container)
        assert package in SETTINGS_CLASSES, f"{workload['metadata']['name']}: {package}"
        if package == "retrainer" and not retrainer_merged():
            continue  # see settings_class: checked once the retrainer is merged
        prefix, cls = settings_class(package)
        env = container.get("env", [])
        names = [item["name"] for item in env]
        assert len(names) == len(set(names)), f"{container['name']}: duplicate variables"
        referenced = {ref for item in env for ref in VAR_REF.findall(item.get("value", ""))}
        values: dict[str, str] = {}
        for item in env:
            var = item["name"]
            if var.startswith(prefix):
                field = var[len(prefix):].lower()
                assert field in cls.model_fields, f"{var} is no field of {cls.__name__}"
            else:
                # a helper only exists to be spliced into a setting, and comes from a Secret
                assert var in GENERAL_VARS or (var in referenced and "valueFrom" in item), var
            if "value" in item:
                values[var] = VAR_REF.sub(lambda m: f"<{m.group(1)}>", item["value"])
            elif "fieldRef" in item["valueFrom"]:
                values[var] = f"{workload['metadata']['name']}-0"
            else:
                values[var] = f"<{var}>"
        # $(VAR) expands only variables defined before it
        for index, item in enumerate(env):
            for ref in VAR_REF.findall(item.get("value", "")):
                assert ref in names[:index], f"{item['name']} refers to {ref} before it exists"
        # and the values are valid settings
        for var in list(os.environ):
            if var.startswith(prefix):
                monkeypatch.delenv(var)
        for var, value in values.items():
            if var.startswith(prefix):
                monkeypatch.setenv(var, value)
        cls()


def test_the_retrainer_is_checked_once_it_exists() -> None:
    settings_class("retrainer")  # skips until retrainer.settings is importable


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_pods_run_as_non_root_without_privileges(
    name: str, rendered: dict[str, list[Obj]]
) -> None:
    for obj in rendered[name]:
        spec = pod_spec(obj)
        if spec is None:
            continue
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec.get("automountServiceAccountToken") is False
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert "resources" in container and "limits" in container["resources"]
            if our_image(container):
                assert context["readOnlyRootFilesystem"] is True
                mounts = {m["mountPath"] for m in container["volumeMounts"]}
                assert "/tmp" in mounts, "matplotlib and Python need a writable /tmp"  # noqa: S108
                assert spec["securityContext"]["runAsUser"] == dockerfile_uid()


def dockerfile_uid() -> int:
    users = re.findall(r"^USER (\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    return int(users[-1])


def test_image_is_the_one_the_dockerfile_and_compose_build(
    rendered: dict[str, list[Obj]],
) -> None:
    compose_image = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-app"]["image"]
    for name in KUSTOMIZATIONS:
        for _, container in containers(rendered[name]):
            if our_image(container):
                assert container["image"] == compose_image
    for workload, container in containers(rendered["overlays/local"]):
        if container["image"] == compose_image:
            assert container.get("imagePullPolicy") == "Never", workload["metadata"]["name"]


# --------------------------------------------------------------------------------- consumer


def consumer_env(objects: list[Obj]) -> dict[str, Obj]:
    statefulset = find(objects, "StatefulSet", "diamond-consumer")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item for item in container["env"]}


@pytest.mark.parametrize("name", ["base", "overlays/local", "overlays/external-kafka"])
def test_each_consumer_replica_is_its_pod(name: str, rendered: dict[str, list[Obj]]) -> None:
    statefulset = find(rendered[name], "StatefulSet", "diamond-consumer")
    env = consumer_env(rendered[name])
    # the pod name survives rescheduling: static membership and the transactional.id follow
    assert env["CONSUMER_REPLICA_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert statefulset["spec"]["serviceName"] == "diamond-consumer"
    service = find(rendered[name], "Service", "diamond-consumer")
    assert service["spec"]["clusterIP"] == "None"
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    budget = find(rendered[name], "PodDisruptionBudget", "diamond-consumer")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("name", ["base", "overlays/local", "overlays/external-kafka"])
def test_the_registry_is_shared_read_only_by_consumers_and_written_by_one_retrainer(
    name: str, rendered: dict[str, list[Obj]]
) -> None:
    objects = rendered[name]
    claim = find(objects, "PersistentVolumeClaim", "model-registry")
    modes = ["ReadWriteOnce"] if name == "overlays/local" else ["ReadWriteMany"]
    assert claim["spec"]["accessModes"] == modes
    consumer = find(objects, "StatefulSet", "diamond-consumer")["spec"]["template"]["spec"]
    retrainer = find(objects, "Deployment", "diamond-retrainer")
    assert retrainer["spec"]["replicas"] == 1
    assert retrainer["spec"]["strategy"]["type"] == "Recreate"
    retrainer_pod = retrainer["spec"]["template"]["spec"]
    for pod, read_only, path_var in (
        (consumer, True, "CONSUMER_MODEL_PATH"),
        (retrainer_pod, False, "RETRAINER_REGISTRY_DIR"),
    ):
        volume = next(v["name"] for v in pod["volumes"]
                      if v.get("persistentVolumeClaim", {}).get("claimName") == "model-registry")
        container = pod["containers"][0]
        mount = next(m for m in container["volumeMounts"] if m["name"] == volume)
        assert mount.get("readOnly", False) is read_only
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env[path_var] == mount["mountPath"] == "/registry"


def test_consumer_topics_and_group_match_compose(rendered: dict[str, list[Obj]]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, value in compose["consumer"]["environment"].items():
        if name in ("CONSUMER_BOOTSTRAP_SERVERS", "CONSUMER_MODEL_PATH", "CONSUMER_GUARANTEE"):
            continue
        if name.startswith("CONSUMER_"):
            assert consumer_env(rendered["base"])[name]["value"] == str(value), name
    assert consumer_env(rendered["base"])["CONSUMER_GUARANTEE"]["value"] == "exactly-once"


def test_local_clients_reach_the_in_cluster_broker(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["overlays/local"]
    service = find(objects, "Service", "kafka")
    broker = find(objects, "StatefulSet", "kafka")["spec"]["template"]["spec"]["containers"][0]
    broker_env = {item["name"]: item["value"] for item in broker["env"]}
    advertised = broker_env["KAFKA_ADVERTISED_LISTENERS"].split("://", 1)[1]
    assert advertised == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    for _, container in containers(objects):
        for item in container.get("env", []):
            if item["name"].endswith("_BOOTSTRAP_SERVERS"):
                assert item["value"] == advertised, item
    scaled = find(objects, "ScaledObject", "diamond-consumer")
    assert scaled["spec"]["triggers"][0]["metadata"]["bootstrapServers"] == advertised


def test_pod_monitor_scrapes_what_the_alert_rules_expect(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["overlays/external-kafka"]
    monitor = find(objects, "PodMonitor", "diamond-monitor")["spec"]
    prometheus = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    job = prometheus["scrape_configs"][0]["job_name"]
    assert f'job="{job}"' in ALERTS_FILE.read_text()
    pod = find(objects, "StatefulSet", "diamond-consumer")["spec"]["template"]
    # job = the pod's label named by jobLabel: the alert rules' job
    assert pod["metadata"]["labels"][monitor["jobLabel"]] == job
    (expression,) = monitor["selector"]["matchExpressions"]
    assert expression["operator"] == "In"
    assert pod["metadata"]["labels"][expression["key"]] in expression["values"]
    (endpoint,) = monitor["podMetricsEndpoints"]
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    env = consumer_env(objects)
    assert str(ports[endpoint["port"]]) == env["CONSUMER_METRICS_PORT"]["value"]
    assert env["CONSUMER_METRICS_ADDR"]["value"] == "0.0.0.0"  # noqa: S104
    assert endpoint["interval"] == prometheus["global"]["scrape_interval"]
    assert endpoint["scrapeTimeout"] == prometheus["global"]["scrape_timeout"]


# ------------------------------------------------------------------------------------ secrets


def test_external_kafka_takes_broker_and_credentials_from_a_secret(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["overlays/external-kafka"]
    env = consumer_env(objects)
    assert env["CONSUMER_BOOTSTRAP_SERVERS"]["valueFrom"]["secretKeyRef"] == {
        "name": "kafka-client", "key": "bootstrap-servers"}
    config = json.loads(VAR_REF.sub(lambda m: f"<{m.group(1)}>",
                                    env["CONSUMER_KAFKA_CONFIG"]["value"]))
    assert config["security.protocol"] == "SASL_SSL"
    for key, var in (("sasl.username", "KAFKA_SASL_USERNAME"),
                     ("sasl.password", "KAFKA_SASL_PASSWORD")):
        assert config[key] == f"<{var}>"
        assert env[var]["valueFrom"]["secretKeyRef"]["name"] == "kafka-client"
    scaled = find(objects, "ScaledObject", "diamond-consumer")["spec"]
    trigger = scaled["triggers"][0]
    assert "bootstrapServers" not in trigger["metadata"]
    assert trigger["metadata"]["bootstrapServersFromEnv"] in env
    assert scaled["scaleTargetRef"]["envSourceContainerName"] == "consumer"
    auth = find(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == {
        "username", "password"}
    assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} == {"kafka-client"}


def test_the_retrainer_takes_the_same_secret(rendered: dict[str, list[Obj]]) -> None:
    pod = find(rendered["overlays/external-kafka"], "Deployment", "diamond-retrainer")
    env = {e["name"]: e for e in pod["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RETRAINER_BOOTSTRAP_SERVERS"]["valueFrom"]["secretKeyRef"] == {
        "name": "kafka-client", "key": "bootstrap-servers"}
    config = json.loads(VAR_REF.sub(lambda m: f"<{m.group(1)}>",
                                    env["RETRAINER_KAFKA_CONFIG"]["value"]))
    assert (config["security.protocol"], config["sasl.password"]) == (
        "SASL_SSL", "<KAFKA_SASL_PASSWORD>")
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "kafka-client"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_no_secret_is_inline(name: str, rendered: dict[str, list[Obj]]) -> None:
    for obj in rendered[name]:
        assert obj["kind"] != "Secret", f"{name}: a Secret is rendered (create it outside git)"
        for _, container in containers([obj]):
            for item in container.get("env", []):
                if PASSWORD_LIKE.search(item["name"]):
                    assert "value" not in item, f"{item['name']} is a literal"
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in SECRET_NAMES
        if obj["kind"] == "ConfigMap":
            continue  # the dashboard: checked byte for byte against its source
        for key, value in strings(obj):
            if PASSWORD_LIKE.search(key):
                assert not value or VAR_REF.fullmatch(value), f"{name}: {key} is a literal"
            for match in re.finditer(r'"[^"]*(password|secret|token)[^"]*"\s*:\s*"([^"]*)"',
                                     value, re.I):
                assert VAR_REF.fullmatch(match.group(2)), f"{name}: literal {match.group(1)}"


def test_no_password_like_literal_in_any_manifest_file() -> None:
    # a key that is exactly a credential word (`password`, `sasl.password`, `api_key`, ...)
    pattern = re.compile(
        r"""(?:^|[\s"'{,.\-_])(password|passwd|secret|token|api[_-]?key)["']?\s*[:=]\s*"""
        r"""["']?([^\s"',}]+)""",
        re.I,
    )
    checked = 0
    for path in K8S_DIR.rglob("*.yaml"):
        if path.parent.name == "crds":
            continue  # upstream schemas: field names, no values
        for line in path.read_text().splitlines():
            if line.lstrip().startswith("#"):
                continue
            for match in pattern.finditer(line):
                value = match.group(2)
                assert VAR_REF.fullmatch(value), f"{path.relative_to(ROOT)}: {line.strip()}"
                checked += 1
    assert checked, "the scan matched nothing: the pattern is broken"
