"""The pure parts of the performance_estimation case: one scenario on a synthetic setup, the
table, the merge into the record, and the case's wiring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.performance_estimation import Setup, run_scenario, table
from bench.report import merge_case
from bench.settings import ALL_CASES, DEFAULT_CASES, PURE_CASES
from drift import EstimationReference
from model.features import CATEGORIES


class ShareLoss:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return 0.1 * frame["prediction"].to_numpy(dtype=np.float64)


def synthetic_setup() -> Setup:
    """Price = 4000 x carat; the model predicts it with errors of 10 % of the price (normal,
    scaled so E|e| is exactly 10 %): the loss model is right by construction."""
    rng = np.random.default_rng(0)
    n = 4000
    carat = np.round(np.exp(rng.normal(-0.4, 0.5, n)), 2)
    pool = pd.DataFrame({"carat": carat, "depth": 61.5, "table": 57.0})
    for name, levels in CATEGORIES.items():
        pool[name] = rng.choice(np.array(levels, dtype=object), size=n)
    noise = rng.normal(0.0, math.sqrt(math.pi / 2) * 0.1, n)
    pool["price"] = np.rint(4000 * carat * (1 + noise)).astype(np.int64)
    estimated = 0.1 * 4000 * carat
    realized = pool["price"].to_numpy(float) - 4000 * carat
    reference = EstimationReference.build(estimated, realized, windows=20)
    return Setup(reference, ShareLoss(), pool, estimated,
                 lambda rows: 4000 * rows["carat"].to_numpy(float))


def test_a_shift_toward_heavy_stones_is_estimated_and_alarms() -> None:
    setup = synthetic_setup()
    quiet = run_scenario(setup, "quiet", "baseline", 1.0, seed=1)
    assert quiet["realized_mae_ratio"] == pytest.approx(1.0, abs=0.05)
    assert quiet["median_abs_pct_mae"] < 10 and not quiet["alarm"] and quiet["alarm_right"]
    heavy = run_scenario(setup, "heavy", "covariate-shift", 1.5, seed=1)
    assert heavy["realized_mae_ratio"] > 1.2 and heavy["degraded"]
    assert heavy["median_abs_pct_mae"] < 10 and heavy["alarm"] and heavy["alarm_right"]


def test_table_and_merge(tmp_path: Path) -> None:
    row = {"scenario": "s", "realized_mae_ratio": 1.5, "median_abs_pct_mae": 2.25,
           "median_signed_pct_mae": -1.0, "mean_abs_pct_mae": 3.0, "median_abs_pct_rmse": 4.0,
           "band_coverage": 0.9,
           "alarm_event": 1234, "alarm_right": True}
    text = table({"rows": [row], "quiet": [{"gamma": 3e9, "alarms": 0, "events": 10}]})
    assert text.splitlines()[2] == (
        "| s | 1.50 | 2.2 % (-1.0 %) | 3.0 % | 4.0 % | 90% | 1,234 | yes |")
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"e2e_eps": 1.0, "performance_estimation": {"old": True}}))
    assert merge_case(path, "performance_estimation", {"rows": []}) == {
        "e2e_eps": 1.0, "performance_estimation": {"rows": []}}


def test_the_case_is_selectable_and_pure() -> None:
    assert "performance_estimation" in ALL_CASES and "performance_estimation" in DEFAULT_CASES
    assert "performance_estimation" in PURE_CASES


def test_quiet_runs_last_about_the_calibrated_ert() -> None:
    from bench.performance_estimation import quiet_alarms

    result = quiet_alarms(synthetic_setup(), 1e4, 1_000_000, seed=3)
    assert result["events"] == 1_000_000 and result["alarms"] > 10
    assert 1e4 / 3 < result["mean_run"] < 1e4 * 5  # the extrapolation errs long, if anything
