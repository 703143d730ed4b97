"""The Grafana dashboard works, proven without a Grafana server.

A real consumer (in-process, small drift windows) scores a drifting stream on the session
broker: data drift, concept drift with late labels, and a few poison events for the
dead-letter panels. A real Prometheus (`infra.prometheus.LocalPrometheus`) scrapes it every
second with the project's alert rules. Once it holds enough scrapes, every query of
`infra/grafana/dashboards/diamond-monitor.json` -- every panel target, rows and repeated rows
included, and every annotation -- is run on Prometheus' HTTP API with its template variables
substituted as the dashboard description documents, and must succeed with data.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from infra.kafka import free_ports
from infra.prometheus import LocalPrometheus, find_prometheus
from producer import EventGenerator, ProducerSettings, StopRequest, run_producer
from tests.unit.test_dashboard_json import iter_panels, substitute, template_values

pytestmark = [pytest.mark.integration, pytest.mark.prometheus]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra" / "grafana" / "dashboards" / "diamond-monitor.json"
DATASOURCES = ROOT / "infra" / "grafana" / "provisioning" / "datasources"

# Queries that cannot have data in a run this short, and why. None now: the drift alerts fire
# after 10 s (`for:`), so even the firing-alerts panel has data.
NO_DATA_EXPECTED: dict[str, str] = {}
POISON = [b"not json", b"[1, 2]", b'{"event_id": "poison-1"}', b"\xff\xfe"]
WAIT_FOR = {  # PromQL conditions (non-empty answer) that mean: every panel can have data now
    "15 scrapes of the consumer": 'count_over_time(up{job="diamond-consumer"}[1m]) >= 15',
    "carat flagged": 'max(diamond_feature_drift_detected{feature="carat"}) == 1',
    "labels since a report": "max(diamond_concept_mae_ratio) >= 0",  # NaN compares false
    "dead letters scraped": "sum(increase(diamond_dlq_published_total[1m])) > 0",
    "feature-drift alert firing": (
        'ALERTS{alertname="FeatureDriftDetected", alertstate="firing"}'
    ),
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # well-formed, or the module fails here


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, plain PromQL) of every panel target and annotation, one per variable value."""
    variables = template_values(dashboard)
    found = []
    for panel in iter_panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            for query in substitute(target["expr"], variables):
                found.append((f"panel {panel['id']} {panel['title']!r} {target['refId']}", query))
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            for query in substitute(annotation["expr"], variables):
                found.append((f"annotation {annotation['name']!r}", query))
    return found


def test_every_datasource_reference_resolves_to_the_provisioned_one(dashboard) -> None:
    provisioned = [
        source
        for path in sorted(DATASOURCES.glob("*.y*ml"))
        for source in yaml.safe_load(path.read_text()).get("datasources", [])
    ]
    uids = {source["uid"]: source["type"] for source in provisioned}
    refs = [(f"annotation {a['name']}", a.get("datasource"))
            for a in dashboard.get("annotations", {}).get("list", [])]
    for panel in iter_panels(dashboard["panels"]):
        if panel["type"] != "row" or panel.get("datasource"):
            refs.append((f"panel {panel['id']}", panel.get("datasource")))
        refs += [(f"panel {panel['id']} {t['refId']}", t.get("datasource"))
                 for t in panel.get("targets", [])]
    refs += [(f"variable {v['name']}", v["datasource"])
             for v in dashboard.get("templating", {}).get("list", []) if "datasource" in v]
    assert refs
    for where, ref in refs:
        assert isinstance(ref, dict), f"{where}: datasource {ref!r} is not a {{type, uid}} ref"
        assert ref.get("uid") in uids, f"{where}: uid {ref.get('uid')!r} not in {sorted(uids)}"
        assert ref.get("type") == uids[ref["uid"]], f"{where}: type {ref.get('type')!r}"


@pytest.fixture
def topics(new_topic: Callable[..., str]) -> dict[str, str]:
    return {name: new_topic(3) for name in ("events", "predictions", "dlq", "labels", "reports")}


@pytest.fixture
def consumer_port(consumer_settings, topics: dict[str, str], running_service) -> Iterator[int]:
    """The scoring service in a thread, reporting drift every second."""
    settings = consumer_settings(
        input_topic=topics["events"], output_topic=topics["predictions"],
        dlq_topic=topics["dlq"], labels_topic=topics["labels"],
        drift_reports_topic=topics["reports"], drift_eval_interval=1.0, batch_timeout=0.1,
    )
    with running_service(settings) as service:
        yield service.metrics_port


@pytest.fixture
def prometheus(consumer_port: int, tmp_path: Path) -> Iterator[LocalPrometheus]:
    if find_prometheus() is None:
        pytest.fail("prometheus is not on PATH: run `make prometheus-bin`")
    with LocalPrometheus(targets=[f"127.0.0.1:{consumer_port}"], data_dir=tmp_path / "prom",
                         port=free_ports(1)[0], scrape_interval=1.0) as prom:
        yield prom


@pytest.fixture
def drifting_stream(bootstrap_servers: str, topics: dict[str, str],
                    event_rows: pd.DataFrame) -> Iterator[None]:
    """Data drift (600 ev/s) and concept drift with labels (300 ev/s) in two threads; stopped
    (and flushed) when the test is done."""
    common = dict(bootstrap_servers=bootstrap_servers, topic=topics["events"], duration=60.0,
                  create_topics=False, labels_topic=topics["labels"], progress_interval=30.0)
    runs = [
        ProducerSettings(**common, scenario="data-drift", rate=600, seed=1, run_id="drift"),
        ProducerSettings(**common, scenario="concept-drift", rate=300, seed=2, run_id="concept",
                         labels=True, label_delay=0.5),
    ]
    stops = [StopRequest() for _ in runs]
    threads = [
        threading.Thread(target=run_producer, args=(settings,), kwargs={
            "stop": stop, "generator": EventGenerator.from_settings(settings, source=event_rows)},
            daemon=True)
        for settings, stop in zip(runs, stops, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for stop in stops:
            stop.request()
            stop.request()  # pending labels at once: no need to wait for their delay
        for thread in threads:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a producer did not stop"


def answer(prom: LocalPrometheus, query: str) -> tuple[str, list[dict[str, Any]]]:
    """(problem or "", result) of an instant query."""
    reply = prom.query(query)
    if reply.get("status") != "success":
        return f"status {reply.get('status')}: {reply.get('error')}", []
    data = reply["data"]
    result = data["result"] if data["resultType"] in ("vector", "matrix") else [
        {"value": data["result"]}]
    return "", result


def wait_until(prom: LocalPrometheus, conditions: dict[str, str], timeout: float) -> None:
    """Until every PromQL condition has a non-empty answer."""
    deadline = time.monotonic() + timeout
    pending = dict(conditions)
    while pending:
        for name, query in list(pending.items()):
            problem, result = answer(prom, query)
            assert not problem, f"{name}: {query}: {problem}"
            if result:
                del pending[name]
        if pending and time.monotonic() > deadline:
            pytest.fail(f"after {timeout:g} s still waiting for: {sorted(pending)}")
        time.sleep(0.5)


@pytest.mark.usefixtures("drifting_stream")
def test_every_dashboard_query_has_data_on_a_live_prometheus(
    dashboard, prometheus, produce_values, topics
) -> None:
    # Poison events only after a first scrape: increase()/rate() ignore a counter's first
    # sample, so dead letters counted before it would never show on the dead-letter panels.
    wait_until(prometheus, {"first scrape": 'up{job="diamond-consumer"} == 1'}, timeout=30)
    produce_values(topics["events"], POISON, [None] * len(POISON))
    wait_until(prometheus, WAIT_FOR, timeout=60)
    queries = dashboard_queries(dashboard)
    assert len(queries) >= 60  # every panel, the repeated row once per feature, annotations
    problems = []
    for where, query in queries:
        problem, result = answer(prometheus, query)
        if problem:
            problems.append(f"{where}: {query}: {problem}")
        elif query in NO_DATA_EXPECTED:
            continue
        elif not result:
            problems.append(f"{where}: {query}: no data")
        else:
            values = [float(r["value"][1]) for r in result]
            if not any(math.isfinite(v) for v in values):
                problems.append(f"{where}: {query}: only NaN/Inf {values}")
    assert not problems, "\n".join(problems)

    # The dead-letter panel shows the reasons of the poison events, not only zeros.
    _, reasons = answer(prometheus, "sum by (reason) (increase(diamond_invalid_events_total[1m]))")
    assert {r["metric"]["reason"] for r in reasons if float(r["value"][1]) > 0} >= {
        "not_json", "not_object", "missing_field", "not_utf8"}
