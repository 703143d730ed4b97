"""The Grafana dashboard JSON: structure, datasource references and the metric names it queries.

Every metric name in a query must be one the consumer exposes (a typo would show an empty panel,
not an error). The live counterpart, which runs each query on a real Prometheus, substitutes the
template variables as `substitute()` below does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra" / "grafana" / "dashboards" / "diamond-monitor.json"
DATASOURCES = ROOT / "infra" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = ROOT / "infra" / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
COMPOSE_FILE = ROOT / "docker-compose.yml"

FEATURES = ("carat", "depth", "table", "cut", "color", "clarity")
COUNTERS = (
    "diamond_events_consumed_total", "diamond_predictions_published_total",
    "diamond_invalid_events_total", "diamond_dlq_published_total", "diamond_batches_total",
    "diamond_delivery_failures_total", "diamond_transactions_aborted_total",
    "diamond_observer_errors_total", "diamond_labels_received_total",
    "diamond_labels_matched_total", "diamond_labels_unmatched_total",
    "diamond_drift_evaluations_total", "diamond_drift_events_total",
    "diamond_drift_transitions_total", "diamond_model_swaps_total", "diamond_model_refused_total",
    "diamond_shadow_scoring_failures_total",
)
HISTOGRAMS = (
    "diamond_batch_size", "diamond_scoring_duration_seconds", "diamond_batch_duration_seconds",
    "diamond_end_to_end_latency_seconds", "diamond_model_load_seconds",
    "diamond_model_swap_delay_seconds", "diamond_shadow_scoring_seconds",
)
GAUGES = (
    "diamond_consumer_lag", "diamond_consumer_lag_total", "diamond_committed_offset",
    "diamond_consumer_up", "diamond_last_batch_timestamp_seconds", "diamond_model_info",
    "diamond_feature_drift_statistic", "diamond_feature_drift_threshold",
    "diamond_feature_drift_detected",
    "diamond_prediction_drift_statistic", "diamond_prediction_drift_threshold",
    "diamond_prediction_drift_detected",
    "diamond_dataset_drift_statistic", "diamond_dataset_drift_threshold",
    "diamond_dataset_drift_share", "diamond_dataset_drift_detected",
    "diamond_concept_drift_statistic", "diamond_concept_drift_threshold",
    "diamond_concept_reference_mae", "diamond_concept_mae_ratio", "diamond_concept_drift_detected",
    "diamond_drift_last_evaluation_timestamp_seconds",
    "diamond_estimated_mae", "diamond_estimated_rmse", "diamond_estimated_mae_ratio",
    "diamond_estimated_drift_detected", "diamond_estimated_drift_statistic",
    "diamond_estimated_drift_threshold", "diamond_concept_window_mae",
    "diamond_concept_window_labels", "diamond_model_challenger",
)
# Series Prometheus itself creates.
BUILTIN_SERIES = ("up", "ALERTS", "ALERTS_FOR_STATE")
KNOWN_METRICS = frozenset(
    COUNTERS + GAUGES + BUILTIN_SERIES
    + tuple(f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count"))
)

# Substitutions that make a dashboard query runnable on plain Prometheus.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
PROMQL_KEYWORDS = frozenset({
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2",
})
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


# --------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def iter_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def query_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in iter_panels(dashboard["panels"]) if p["type"] != "row"]


def all_exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expr) of every panel target and every annotation query."""
    found = [
        (f"panel {p['id']} {p['title']!r} {t['refId']}", t["expr"])
        for p in query_panels(dashboard)
        for t in p.get("targets", [])
    ]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        expr = annotation.get("expr") or annotation.get("target", {}).get("expr")
        if expr:
            found.append((f"annotation {annotation['name']!r}", expr))
    return found


def template_values(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    """Values of each dashboard variable (custom variables: the comma-separated query)."""
    values: dict[str, list[str]] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "custom":
            values[variable["name"]] = [v.strip() for v in variable["query"].split(",")]
        else:
            values[variable["name"]] = [o["value"] for o in variable.get("options", [])
                                        if o["value"] != "$__all"]
    return values


def substitute(expr: str, variables: dict[str, list[str]]) -> list[str]:
    """The plain PromQL of a dashboard query: one query per value of its dashboard variables."""
    expr = VARIABLE.sub(
        lambda m: GRAFANA_BUILTINS.get(m.group(1) or m.group(2), m.group(0)), expr
    )
    queries = [expr]
    for name, options in variables.items():
        pattern = re.compile(rf"\$(?:\{{{name}(?::\w+)?\}}|{name}\b)")
        if any(pattern.search(q) for q in queries):
            queries = [pattern.sub(value, q) for q in queries for value in options]
    return queries


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (a small lexer, enough for our queries)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text
    )  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)\s*(\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


# ------------------------------------------------------------------------------- structure


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "diamond-monitor"
    assert dashboard["title"]
    assert isinstance(dashboard["version"], int) and dashboard["version"] >= 1
    assert dashboard["schemaVersion"] >= 36
    assert dashboard.get("id") is None, "a provisioned dashboard has no numeric id"


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in iter_panels(dashboard["panels"])]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(ids)}"


def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], int] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, f"panel {panel['id']} off the grid"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"panels {cells[(x, y)]} and {panel['id']} overlap"
                cells[(x, y)] = panel["id"]


def test_every_panel_has_queries(dashboard: dict[str, Any]) -> None:
    panels = query_panels(dashboard)
    assert len(panels) >= 20
    for panel in panels:
        targets = panel.get("targets")
        assert targets, f"panel {panel['id']} {panel['title']!r} has no targets"
        ref_ids = [t["refId"] for t in targets]
        assert len(ref_ids) == len(set(ref_ids)), f"panel {panel['id']}: duplicate refIds"
        for target in targets:
            assert target.get("expr", "").strip(), f"panel {panel['id']}: empty expr"


def test_datasources_resolve_to_the_provisioned_prometheus(dashboard: dict[str, Any]) -> None:
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uids = {d["uid"] for d in provisioned if d["type"] == "prometheus"}
    assert uids == {"prometheus"}

    def check(where: str, ref: Any) -> None:
        assert isinstance(ref, dict), f"{where}: datasource {ref!r} is not a {{type, uid}} ref"
        assert ref.get("uid") in uids, f"{where}: datasource uid {ref.get('uid')!r} unknown"
        assert ref.get("type") == "prometheus", f"{where}: datasource type {ref.get('type')!r}"

    for panel in query_panels(dashboard):
        check(f"panel {panel['id']}", panel.get("datasource"))
        for target in panel["targets"]:
            check(f"panel {panel['id']} {target['refId']}", target.get("datasource"))
    for annotation in dashboard["annotations"]["list"]:
        check(f"annotation {annotation['name']}", annotation.get("datasource"))


def test_provisioning_points_at_the_mounted_dashboards() -> None:
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    paths = {p["options"]["path"] for p in providers if p["type"] == "file"}
    assert paths == {"/var/lib/grafana/dashboards"}
    grafana = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["grafana"]
    assert "./infra/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    datasource = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"


# ---------------------------------------------------------------------------------- queries


def test_every_metric_name_is_exposed_by_the_consumer(dashboard: dict[str, Any]) -> None:
    unknown = {
        (where, name)
        for where, expr in all_exprs(dashboard)
        for name in metric_names(expr)
        if name not in KNOWN_METRICS
    }
    assert not unknown, f"unknown metric names (typos?): {sorted(unknown)}"


def test_the_metric_lexer_finds_names_and_skips_functions_and_labels() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(diamond_batch_size_bucket[$__rate_interval])))'
        ' / on () group_left max(diamnod_consumer_up{feature=~"$feature"}) or vector(0)'
    )
    assert metric_names(expr) == {"diamond_batch_size_bucket", "diamnod_consumer_up"}


def test_dashboard_covers_the_key_metrics(dashboard: dict[str, Any]) -> None:
    used = {name for _, expr in all_exprs(dashboard) for name in metric_names(expr)}
    expected = {
        "diamond_events_consumed_total", "diamond_predictions_published_total",
        "diamond_end_to_end_latency_seconds_bucket", "diamond_batch_size_sum",
        "diamond_batch_size_count", "diamond_consumer_lag", "diamond_consumer_lag_total",
        "diamond_invalid_events_total", "diamond_feature_drift_statistic",
        "diamond_feature_drift_threshold", "diamond_feature_drift_detected",
        "diamond_prediction_drift_detected", "diamond_prediction_drift_statistic",
        "diamond_dataset_drift_share", "diamond_drift_transitions_total",
        "diamond_drift_events_total", "diamond_concept_drift_statistic",
        "diamond_concept_drift_threshold", "diamond_concept_reference_mae",
        "diamond_concept_mae_ratio", "diamond_labels_matched_total",
        "diamond_labels_unmatched_total", "diamond_model_info", "ALERTS",
        "diamond_estimated_mae", "diamond_estimated_drift_detected",
        "diamond_concept_window_mae", "diamond_model_swaps_total", "diamond_model_refused_total",
    }
    assert expected <= used, f"not on the dashboard: {sorted(expected - used)}"


def test_rates_use_the_rate_interval(dashboard: dict[str, Any]) -> None:
    for where, expr in all_exprs(dashboard):
        for match in re.finditer(r"\b(?:rate|irate|increase)\(\s*[\w:]+(?:\{[^}]*\})?\[([^\]]*)\]",
                                 expr):
            assert match.group(1) == "$__rate_interval", f"{where}: {match.group(0)}"


def test_variables_are_defined_and_documented(dashboard: dict[str, Any]) -> None:
    variables = template_values(dashboard)
    assert variables == {"feature": list(FEATURES)}
    for where, expr in all_exprs(dashboard):
        for match in VARIABLE.finditer(expr):
            name = match.group(1) or match.group(2)
            assert name in GRAFANA_BUILTINS or name in variables, f"{where}: ${name} undefined"
    for name in [*variables, "__rate_interval", "__interval"]:
        assert f"${name}" in dashboard["description"], f"${name} not documented"


def test_feature_row_repeats_per_feature(dashboard: dict[str, Any]) -> None:
    rows = [p for p in dashboard["panels"] if p["type"] == "row" and p.get("repeat")]
    assert [r["repeat"] for r in rows] == ["feature"]
    start = dashboard["panels"].index(rows[0])
    members = dashboard["panels"][start + 1:]
    assert members and all(p["type"] != "row" for p in members)
    for panel in members:
        assert all("$feature" in t["expr"] for t in panel["targets"]), panel["title"]


def test_substituted_queries_are_plain_promql(dashboard: dict[str, Any]) -> None:
    variables = template_values(dashboard)
    for where, expr in all_exprs(dashboard):
        queries = substitute(expr, variables)
        expected = len(FEATURES) if "$feature" in expr else 1
        assert len(queries) == expected, where
        for query in queries:
            assert "$" not in query, f"{where}: unsubstituted variable in {query}"
            assert query.count("(") == query.count(")"), f"{where}: unbalanced {query}"


def test_the_drift_and_model_names_listed_here_are_the_consumer_series() -> None:
    from prometheus_client import CollectorRegistry

    from consumer.drift import DriftMetrics
    from consumer.models import ModelMetrics

    registry = CollectorRegistry()
    DriftMetrics(registry, FEATURES)
    ModelMetrics(registry)
    exposed = {s.name for metric in registry.collect() for s in metric.samples}
    listed = {name for name in COUNTERS + GAUGES
              if name.startswith(("diamond_feature_drift", "diamond_prediction_drift",
                                  "diamond_dataset_drift", "diamond_concept", "diamond_drift",
                                  "diamond_estimated", "diamond_model_swaps",
                                  "diamond_model_refused", "diamond_shadow"))}
    assert listed <= exposed, sorted(listed - exposed)
