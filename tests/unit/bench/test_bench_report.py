"""The benchmark's record: checks, table, settings; no broker."""

from __future__ import annotations

import json

import pytest

from bench.report import CHECKS, RESULT_KEYS, empty_record, evaluate, table, write
from bench.settings import ALL_CASES, DEFAULT_CASES, BenchSettings


def full_record() -> dict:
    record = empty_record()
    record.update(
        model="hgb", model_version="hgb-x", ceiling_eps=60_000, e2e_eps=35_000,
        e2e_at_least_once_eps=40_000, e2e_exactly_once_eps=35_000, drift_off_eps=37_000,
        naive_eps=150.0, latency_ms={"p50": 20.0, "p95": 50.0, "p99": 120.0}, rss_mb=250.0,
        startup_s=2.5,
        latency_curve={
            "exactly-once": [{"rate": 1000.0, "sent_rate": 1000, "p50": 20.0, "p95": 40.0,
                              "p99": 60.0},
                             {"rate": 5000.0, "sent_rate": 4990, "p50": 30.0, "p95": 70.0,
                              "p99": 90.0}],
            "at-least-once": [{"rate": 5000.0, "sent_rate": 5000, "p50": 15.0, "p95": 40.0,
                               "p99": 55.5}],
            "saturation_eps": {"exactly-once": 35_000, "at-least-once": 40_000},
            "floor": {"exactly-once": {"rate": 5000.0, "sent_rate": 4995, "p50": 25.0,
                                       "p95": 50.0, "p99": 70.0, "measured": 60_000}},
        },
    )
    return record


def test_checks_pass_and_fail_on_their_targets() -> None:
    checks = evaluate(full_record())
    assert set(checks) == set(CHECKS)
    assert checks["e2e_vs_ceiling"] == {"what": "e2e / ceiling", "target": ">= 0.5",
                                        "value": 0.583, "pass": True}
    assert checks["e2e_vs_naive"]["pass"] is True and checks["e2e_vs_naive"]["value"] == 233.333
    assert checks["e2e_vs_drift_off"]["pass"] is True
    assert checks["exactly_once_vs_at_least_once"]["value"] == 0.875
    assert checks["latency_p99_ms"] == {"what": "latency p99 (ms)", "target": "< 100",
                                        "value": 120.0, "pass": False}
    assert checks["rss_mb"]["pass"] is True
    assert checks["curve_p99_exactly_once_5k_ms"]["value"] == 90.0
    assert checks["curve_p99_exactly_once_5k_ms"]["pass"] is True
    assert checks["curve_p99_at_least_once_5k_ms"] == {
        "what": "p99 at 5k ev/s at-least-once (ms)", "target": "< 50", "value": 55.5,
        "pass": False}


def test_checks_of_cases_not_run_are_not_applicable() -> None:
    checks = evaluate(empty_record())
    assert all(c["pass"] is None and c["value"] is None for c in checks.values())


def test_the_table_and_the_json_hold_every_result(tmp_path) -> None:
    record = full_record()
    record["checks"] = evaluate(record)
    text = table(record)
    assert "35,000 ev/s" in text and "FAIL  latency p99" in text and "PASS  e2e / ceiling" in text
    assert "exactly-once  saturation 35,000 ev/s" in text
    assert "5,000 ev/s (sent  4,990)  p50   30.0  p95   70.0  p99   90.0" in text
    assert ("5,000 ev/s (sent  4,995)  p50   25.0  p95   50.0  p99   70.0  bare client"
            in text)
    assert text.count("bare client") == 1  # at-least-once has no floor in this record
    write(record, tmp_path / "out" / "latest.json")
    assert set(RESULT_KEYS) <= set(json.loads((tmp_path / "out" / "latest.json").read_text()))


def test_quick_plan_and_explicit_counts() -> None:
    assert BenchSettings().plan().events == 200_000
    quick = BenchSettings(quick=True)
    assert quick.plan().events < 10_000 and quick.plan().repeats == 1
    assert BenchSettings(quick=True, events=500).plan().events == 500
    assert "scale" in ALL_CASES and "scale" not in DEFAULT_CASES


def test_cases_are_checked_and_comma_separated() -> None:
    assert BenchSettings(cases=["e2e,naive"]).cases == ["e2e", "naive"]
    assert BenchSettings(curve_rates="1000,5000").plan().curve_rates == (1000.0, 5000.0)
    assert BenchSettings().plan().curve_rates == (1000.0, 5000.0, 10000.0, 20000.0)
    assert "latency_curve" in DEFAULT_CASES
    with pytest.raises(ValueError, match="unknown case"):
        BenchSettings(cases=["e2e", "warp"])
