"""`python -m demo`, the main job, end to end: it starts its own broker (and Prometheus when
installed), tells the whole story in a short run (closing act included: the retrainer answers
the concept alarm and its model is swapped in), writes its outputs, and leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"started (.+?) pid (\d+)")


def test_the_demo_tells_the_story_and_stops_everything_it_started(
    model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "demo-output"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "CONSUMER_"))}
    done = subprocess.run(
        # 12 s for baseline and data drift (12,000 events each: the length the ten seeded
        # stories of test_demo_story_flags check), 25 s for concept drift and the closing act:
        # it needs ~35 s from the concept alarm to the swap (5,000 labelled rows, then training
        # and calibrating the candidate on 2 cores under load)
        [sys.executable, "-m", "demo", "--phase-lengths", "12,12,25,25", "--output-dir", str(out),
         "--model-path", str(model_dir), "--status-interval", "5"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] and summary["failures"] == []
    assert [p["name"] for p in summary["phases"]] == [
        "baseline", "data-drift", "concept-drift", "retrained"]
    assert all(p["events"] > 0 and p["exit_code"] == 0 for p in summary["phases"])
    produced = sum(p["events"] for p in summary["phases"])
    # every event scored once, nothing dead-lettered, nothing left behind
    assert summary["events_produced"] == summary["predictions"] == produced
    assert summary["dlq"] == 0 and summary["final_lag"] == 0
    # the story: each kind of drift is first flagged in the phase that causes it, never before
    first = summary["first_flagged"]
    assert first["data_drift"]["phase"] == "data-drift"
    assert first["concept_drift"]["phase"] == "concept-drift"
    flags = summary["phase_flags"]
    raised = {name: {r["flag"] for r in phase["raised"]} for name, phase in flags.items()}
    assert raised["baseline"] == set() and raised["retrained"] == set()  # no false flag
    assert {"carat", "dataset"} <= raised["data-drift"] <= {
        "carat", "clarity", "dataset", "prediction", "estimated_performance"}
    assert raised["concept-drift"] == {"concept"}  # the data flags do not come back
    assert summary["false_flags"] == {"count": 0, "flags": {}}
    # the data flags clear when the data is back; the concept flag clears with the swap (a
    # reset, not a transition), and nothing is raised at the end
    cleared = {r["flag"] for phase in flags.values() for r in phase["cleared"]}
    assert cleared == raised["data-drift"]
    assert summary["flags_up_at_end"] == []
    # the closing act: alarm -> candidate -> promotion -> swap, in that order, and the new
    # model's realized MAE on the shifted prices back within 1.2x of its own held-out MAE
    act = summary["retraining"]
    assert act["complete"], act
    assert act["alarm_s"] < act["candidate_s"] < act["promotion_s"] <= act["swap_s"]
    assert act["model_after"] != act["model_before"]
    assert act["mae_before"]["mae_ratio"] > 2 and act["mae_after"]["mae_ratio"] < 1.2
    assert act["concept_flag_at_end"] is False
    print("closing act:", act)
    # the label-free estimate: heavier stones are estimated worse, before any label
    mae = summary["estimated_vs_realized_mae"]
    assert mae["data-drift"]["estimated_mae_ratio"] > 1.2 > mae["baseline"]["estimated_mae_ratio"]
    print("estimated vs realized MAE:", mae)
    print("flag changes:", [(c["flag"], c["kind"], c["phase"], c["seconds_after_onset"])
                            for c in summary["flag_changes"]])
    for name in ("png", "html", "reports"):
        assert Path(summary["outputs"][name]).stat().st_size > 0

    # Everything the demo started (broker, consumer, Prometheus, producers) is gone.
    started = STARTED.findall((out / "logs" / "demo.log").read_text())
    names = {name.split(" for ")[0] for name, _ in started}
    assert {"Kafka broker", "consumer", "retrainer", "producer[baseline]"} <= names
    if shutil.which("prometheus"):
        assert any(name.startswith("Prometheus") for name in names)
    alive = [(name, pid) for name, pid in started if psutil.pid_exists(int(pid))
             and psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"still running after the demo: {alive}"
