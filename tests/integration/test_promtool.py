"""Prometheus configuration and alerting rules, checked with the real promtool.

The promtool tests are marked `prometheus` (install with `make prometheus-bin`); the structural
checks of alerts.yml and alerts.test.yml need no binary and run everywhere.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "infra" / "prometheus"
CONFIGS = ("prometheus.yml", "prometheus.local.yml")
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERT_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
SEVERITIES = ("info", "warning", "critical")


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not on PATH: run `make prometheus-bin`")
    return subprocess.run(
        [binary, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------- promtool


@pytest.mark.prometheus
@pytest.mark.parametrize("name", CONFIGS)
def test_promtool_check_config(name: str) -> None:
    assert_ok(promtool("check", "config", PROMETHEUS_DIR / name))


@pytest.mark.prometheus
def test_rendered_local_config_with_another_port_is_valid(tmp_path: Path) -> None:
    """How a test runs its own Prometheus: copy the local config with a free target port and
    the rule file's absolute path (rule_files are relative to the config file)."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.local.yml").read_text())
    config["rule_files"] = [str(ALERTS)]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "diamond-consumer")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{free_port()}"]}]
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(yaml.safe_dump(config, sort_keys=False))
    assert_ok(promtool("check", "config", rendered))


@pytest.mark.prometheus
def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", ALERTS)
    assert_ok(result)
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


@pytest.mark.prometheus
def test_promtool_rule_unit_tests() -> None:
    assert_ok(promtool("test", "rules", ALERT_TESTS))


# ------------------------------------------------------------------------------- structure


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    spec = yaml.safe_load(ALERT_TESTS.read_text())
    assert spec["rule_files"] == [ALERTS.name]
    firing: set[str] = set()
    silent: set[str] = set()
    for test in spec["tests"]:
        for case in test.get("alert_rule_test", []):
            assert case["alertname"] in names, f"test of unknown alert {case['alertname']}"
            (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    assert names - firing == set(), f"never tested firing: {sorted(names - firing)}"
    assert names - silent == set(), f"never tested not firing: {sorted(names - silent)}"


def test_every_alert_has_severity_summary_description_and_for() -> None:
    rules = alert_rules()
    expected = {
        "FeatureDriftDetected", "DatasetDrift", "PredictionDrift", "ConceptDrift",
        "EstimatedPerformanceDegraded", "ConsumerLagGrowing", "ConsumerLagStalled",
        "DeadLetterRateHigh", "NoEventsScored", "ConsumerDown", "ModelRefused",
    }
    assert {rule["alert"] for rule in rules} == expected
    for rule in rules:
        name = rule["alert"]
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        annotations = rule.get("annotations", {})
        assert annotations.get("summary", "").strip(), f"{name}: no summary"
        assert annotations.get("description", "").strip(), f"{name}: no description"
        assert rule.get("for"), f"{name}: no `for`: one bad evaluation would page"


def test_lag_growing_alert_needs_growth_and_a_floor() -> None:
    rule = next(r for r in alert_rules() if r["alert"] == "ConsumerLagGrowing")
    assert "deriv(" in rule["expr"] or "delta(" in rule["expr"]
    assert " and " in rule["expr"], "growth alone fires on tiny lags: AND it with a floor"


def test_consumer_down_alert_also_fires_when_no_target_exists() -> None:
    rule = next(r for r in alert_rules() if r["alert"] == "ConsumerDown")
    assert 'up{job="diamond-consumer"} == 0' in rule["expr"]
    assert 'absent(up{job="diamond-consumer"})' in rule["expr"]


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]]


def test_drift_alerts_fire_on_the_flags_with_a_short_for() -> None:
    # the flags carry their own calibrated false-alarm rate: a long `for` only delays them
    drift = {r["alert"]: r for r in alert_rules()
             if r["alert"] in {"FeatureDriftDetected", "DatasetDrift", "PredictionDrift",
                               "ConceptDrift"}}
    assert len(drift) == 4
    for name, rule in drift.items():
        assert seconds(rule["for"]) <= 30, name
        assert "_drift_detected" in rule["expr"], name
    assert "mae_ratio" not in drift["ConceptDrift"]["expr"]  # the ratio alone is no alarm
