"""infra/k8s sized from measurements: infra/k8s/figures.py holds the README's figures (checked
here against the README's own tables), and the manifests' resources, probes, grace period and
autoscaling thresholds are checked against those figures and against the consumer's code."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from common.contracts.models import MODELS_TOPIC, MODELS_TOPIC_CONFIG
from common.contracts.topics import (
    DLQ_TOPIC,
    DRIFT_REPORTS_TOPIC,
    EVENTS_TOPIC,
    LABELS_TOPIC,
    PREDICTIONS_TOPIC,
)
from consumer.app import liveness_timeout
from consumer.edge.delivery import HANG_GRACE, TXN_TIMEOUT
from consumer.settings import ConsumerSettings
from infra.k8s import K8S_DIR, render
from infra.k8s import figures as fig

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
Obj = dict[str, Any]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def bench_row(key: str) -> list[str]:
    """The cells after the key of a `| `key` ... | value | ... |` row of the benchmark table."""
    match = re.search(rf"^\| `{re.escape(key)}`[^|]*\|(.*)$", README, re.M)
    assert match, f"no `{key}` row in the README"
    return [cell.strip() for cell in match.group(1).split("|")]


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    return render(K8S_DIR / "overlays" / "external-kafka")


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def consumer_container(objects: list[Obj]) -> Obj:
    pod = find(objects, "StatefulSet", "diamond-consumer")["spec"]["template"]["spec"]
    container: Obj = pod["containers"][0]
    return container


def quantity(value: str | int) -> float:
    """A Kubernetes quantity in base units (bytes, cores)."""
    text = str(value)
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# -------------------------------------------------------------------- the README's figures


def test_figures_are_the_readme_measurements() -> None:
    assert number(bench_row("e2e_eps")[0]) == fig.E2E_EPS
    rss = bench_row("rss_mb")
    assert number(rss[0]) == fig.BENCH_RSS_MB
    assert number(re.search(r"<\s*([\d,]+)\s*MB", rss[1]).group(1)) == fig.RSS_TARGET_MB  # type: ignore[union-attr]
    assert number(bench_row("startup_s")[0]) == fig.STARTUP_S
    table = re.search(r"\| consumer processes \| events/s \| peak RSS per process \|\n"
                      r"\|[-| ]+\|\n((?:\|.*\|\n)+)", README)
    assert table, "no scale table in the README"
    peaks = [
        int(mb)
        for row in table.group(1).splitlines()
        for mb in re.findall(r"(\d+)", row.split("|")[3])
    ]
    assert tuple(peaks) == fig.PEAK_RSS_MB


# ---------------------------------------------------------------------------------- resources


def test_consumer_resources_follow_the_measured_rss_and_cpu(objects: list[Obj]) -> None:
    resources = consumer_container(objects)["resources"]
    assert quantity(resources["requests"]["memory"]) == fig.MEMORY_REQUEST_MIB * fig.MIB
    assert quantity(resources["limits"]["memory"]) == fig.MEMORY_LIMIT_MIB * fig.MIB
    assert quantity(resources["requests"]["cpu"]) == fig.CPU_REQUEST_CORES
    assert quantity(resources["limits"]["cpu"]) == fig.CPU_LIMIT_CORES
    # the request covers the largest peak RSS measured with 10 % to spare
    assert fig.MEMORY_REQUEST_MIB * fig.MIB >= 1.1 * max(fig.PEAK_RSS_MB) * fig.MB
    # the limit sits above the benchmark's RSS target: reaching it is a leak, not load
    assert fig.MEMORY_LIMIT_MIB * fig.MIB > fig.RSS_TARGET_MB * fig.MB
    # the throughput behind LAG_THRESHOLD was measured with a core per consumer
    assert fig.CPU_REQUEST_CORES >= 1
    assert ConsumerSettings().scoring_threads <= fig.CPU_REQUEST_CORES


def test_local_overlay_shrinks_only_the_cpu_request() -> None:
    local = consumer_container(render(K8S_DIR / "overlays" / "local"))["resources"]
    assert quantity(local["requests"]["cpu"]) < fig.CPU_REQUEST_CORES
    assert quantity(local["requests"]["memory"]) == fig.MEMORY_REQUEST_MIB * fig.MIB
    assert quantity(local["limits"]["memory"]) == fig.MEMORY_LIMIT_MIB * fig.MIB


# ------------------------------------------------------------------------------------- probes


@pytest.mark.parametrize("probe", sorted(fig.PROBES))
def test_consumer_probes_are_the_figures(probe: str, objects: list[Obj]) -> None:
    spec = consumer_container(objects)[probe]
    expected = fig.PROBES[probe]
    assert spec["httpGet"] == {"path": expected.path, "port": "metrics"}
    for key in ("periodSeconds", "timeoutSeconds", "failureThreshold"):
        assert spec[key] == getattr(expected, key), f"{probe}.{key}"


def test_probe_timings_agree_with_the_consumer() -> None:
    settings = ConsumerSettings()
    live = fig.PROBES["livenessProbe"]
    # /healthz already waits out liveness_timeout (the worst case of a batch in delivery);
    # the kubelet may add no more than the consumer's own idle allowance on top
    assert live.window_s <= settings.liveness_timeout
    assert liveness_timeout(settings) > settings.liveness_timeout
    # a probe waits as long as the HTTP server's own per-socket timeout, no less
    for probe in fig.PROBES.values():
        assert probe.timeoutSeconds >= settings.metrics_request_timeout
        assert probe.timeoutSeconds < probe.window_s
    start = fig.PROBES["startupProbe"]
    assert start.window_s >= 10 * fig.STARTUP_S
    assert fig.PROBES["readinessProbe"].path == "/readyz"
    # SIGTERM finishes the batch: one watched transactional call fits in the grace period
    assert fig.TERMINATION_GRACE_S >= TXN_TIMEOUT + HANG_GRACE


def test_grace_period_is_the_figure(objects: list[Obj]) -> None:
    pod = find(objects, "StatefulSet", "diamond-consumer")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == fig.TERMINATION_GRACE_S


# -------------------------------------------------------------------------------- autoscaling


def test_lag_threshold_is_a_second_of_one_replica(objects: list[Obj]) -> None:
    assert fig.LAG_THRESHOLD == math.floor(fig.E2E_EPS * fig.DRAIN_S / 1000) * 1000 == 29_000
    # far above a healthy replica's lag (a batch or two) and the lag alert's threshold
    assert fig.LAG_THRESHOLD >= 10 * ConsumerSettings().batch_size
    alert = re.search(r"sum by \(job\) \(diamond_consumer_lag_total\) > (\d+)",
                      (ROOT / "infra/prometheus/alerts.yml").read_text())
    assert alert and fig.LAG_THRESHOLD > int(alert.group(1))


def partitions_created(script: str) -> set[int]:
    return {int(n) for n in re.findall(r"--partitions (\d+)", script)}


def topics_created() -> dict[str, tuple[int, list[str]]]:
    """topic -> (partitions, extra arguments) of the local topics Job's `create` lines."""
    job = find(render(K8S_DIR / "kafka"), "Job", "kafka-topics")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    lines = [line.split() for line in script.splitlines() if line.strip().startswith("create ")]
    return {words[1]: (int(words[2]), words[3:]) for words in lines}


def test_topics_job_creates_every_contract_topic() -> None:
    created = topics_created()
    expected = {EVENTS_TOPIC, PREDICTIONS_TOPIC, DLQ_TOPIC, LABELS_TOPIC, DRIFT_REPORTS_TOPIC}
    assert set(created) == expected | {MODELS_TOPIC}
    partitions, extra = created[MODELS_TOPIC]
    assert partitions == 1
    assert extra == [arg for key, value in MODELS_TOPIC_CONFIG.items()
                     for arg in ("--config", f"{key}={value}")]


def test_autoscalers_cap_at_the_events_partitions_and_share_the_threshold(
    objects: list[Obj],
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    # the data topics; the models topic (one partition, compacted) comes after them
    data_topics, found, _ = " ".join(compose["topics"]["command"]).partition(
        f"--topic {MODELS_TOPIC}")
    assert found and partitions_created(data_topics) == {fig.EVENTS_PARTITIONS}
    created = topics_created()
    assert created[EVENTS_TOPIC][0] == created[LABELS_TOPIC][0] == fig.EVENTS_PARTITIONS
    env = {e["name"]: e.get("value") for e in consumer_container(objects)["env"]}

    scaled = find(objects, "ScaledObject", "diamond-consumer")["spec"]
    assert scaled["scaleTargetRef"]["kind"] == "StatefulSet"
    assert scaled["scaleTargetRef"]["name"] == "diamond-consumer"
    assert scaled["minReplicaCount"] == 1
    assert scaled["maxReplicaCount"] == fig.EVENTS_PARTITIONS
    (trigger,) = scaled["triggers"]
    metadata = trigger["metadata"]
    assert trigger["type"] == "kafka"
    assert metadata["lagThreshold"] == str(fig.LAG_THRESHOLD)
    assert metadata["topic"] == env["CONSUMER_INPUT_TOPIC"]
    assert metadata["consumerGroup"] == env["CONSUMER_GROUP_ID"]
    assert metadata["allowIdleConsumers"] == "false"

    hpa = find(render(K8S_DIR / "autoscaling" / "hpa"), "HorizontalPodAutoscaler",
               "diamond-consumer")["spec"]
    assert hpa["scaleTargetRef"] == {k: scaled["scaleTargetRef"][k]
                                     for k in ("apiVersion", "kind", "name")}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, fig.EVENTS_PARTITIONS)
    (metric,) = hpa["metrics"]
    assert metric["external"]["target"] == {"type": "AverageValue",
                                            "averageValue": str(fig.LAG_THRESHOLD)}
    assert hpa["behavior"] == scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]


def test_prometheus_adapter_serves_the_metric_the_hpa_reads() -> None:
    from consumer.ops.metrics import ConsumerMetrics

    values = yaml.safe_load((K8S_DIR / "autoscaling/hpa/prometheus-adapter-values.yaml")
                            .read_text())
    (rule,) = values["rules"]["external"]
    hpa = find(render(K8S_DIR / "autoscaling" / "hpa"), "HorizontalPodAutoscaler",
               "diamond-consumer")
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]
    assert rule["name"]["as"] == metric["name"]
    series = re.match(r"(\w+)\{", rule["seriesQuery"])
    assert series and re.fullmatch(rule["name"]["matches"], series.group(1))
    registry = CollectorRegistry()
    ConsumerMetrics(registry)
    exported = {m.name: m for m in registry.collect()}
    assert series.group(1) in exported, f"the consumer exports no {series.group(1)}"
    assert 'topic="diamonds.events"' in rule["metricsQuery"]
    # the HPA's selector is the job label the PodMonitor gives the consumers
    assert metric["selector"]["matchLabels"] == {"job": "diamond-consumer"}
