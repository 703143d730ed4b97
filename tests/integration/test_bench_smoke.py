"""`python -m bench --quick` end to end on the session broker: every key of the record is
written. No timing is asserted: speed is measured by the benchmark, never by tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import CHECKS, RESULT_KEYS
from bench.settings import DEFAULT_CASES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def run_bench(args: list[str], bootstrap_servers: str, model_dir: Path, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "CONSUMER_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--bootstrap-servers", bootstrap_servers,
         "--model-path", str(model_dir), "--output", str(out), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=540, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"written to {out}" in done.stdout  # after the table
    return json.loads(out.read_text())


def test_quick_bench_writes_every_key(bootstrap_servers, model_dir, tmp_path) -> None:
    record = run_bench(
        ["--events", "1000", "--naive-events", "30", "--latency-seconds", "3",
         "--latency-rate", "500", "--latency-warmup", "0.5"],
        bootstrap_servers, model_dir, tmp_path / "latest.json",
    )
    assert record["settings"]["cases"] == list(DEFAULT_CASES)
    for key in RESULT_KEYS:
        assert record[key] is not None, key
    assert set(record["latency_ms"]) == {"p50", "p95", "p99"}
    curve = record["latency_curve"]
    for guarantee in ("exactly-once", "at-least-once"):
        assert [row["rate"] for row in curve[guarantee]] == [1000.0, 5000.0]
        assert all(row["measured"] > 0 and row["p99"] >= row["p50"] for row in curve[guarantee])
        floor = curve["floor"][guarantee]  # the bare client echoed every event (else CaseError)
        assert floor["rate"] == 500.0 and floor["measured"] > 0 and floor["p99"] >= floor["p50"]
    assert set(record["checks"]) == set(CHECKS)
    for check in record["checks"].values():
        assert isinstance(check["pass"], bool) and check["value"] is not None
    machine = record["machine"]
    for key in ("date", "cores", "cpu_model", "python", "libraries", "env"):
        assert machine[key] is not None, key
    assert record["date"] == machine["date"]


def test_quick_scale_out_audits_join_and_leave(bootstrap_servers, model_dir, tmp_path) -> None:
    record = run_bench(["--cases", "scale", "--scale-events", "600"], bootstrap_servers,
                       model_dir, tmp_path / "scale.json")
    scale = record["scale"]
    assert [row["instances"] for row in scale["throughput"]] == [1, 2, 3]
    assert {c["guarantee"] for c in scale["churn"]} == {"exactly-once", "at-least-once"}
    for check in scale["churn"]:  # correctness is asserted (speed never is)
        assert check["missing"] == 0 and check["dead_lettered"] == 0, check
        if check["guarantee"] == "exactly-once":
            assert check["duplicates"] == 0, check
