"""The `performance_estimation` case: label-free estimated MAE vs realized MAE, no broker.

The held-out split is cut in two seeded halves: the loss model is cross-fitted and its
reference built on half A exactly as training does (`model.loss`, `drift.EstimationReference`),
and the streams replay half B, so no estimated row was ever seen by the loss model (the
shipped loss model, fitted on the whole held-out split, would be scoring its own training rows
on the project's replayed streams). Streams come from the producer's scenarios
(`EventGenerator` on half B): `baseline` (quiet) and covariate shifts of several strengths
toward expensive stones, cheap stones and the rarest clarities, all with true labels.

Per scenario, `WINDOWS` windows of `WINDOW` events, each scored by the trained model and fed
to a `PerformanceEstimator` (one update and one evaluate per window): the estimated MAE and
RMSE against the realized ones (the same events' true labels), the median absolute % difference
over windows, how often the realized MAE fell in the estimate's band, the realized MAE ratio
(over half A's held-out MAE), and whether the alarm fired (it should exactly when the realized
ratio is above `DEGRADED`, 1.2). A quiet stream of `QUIET_EVENTS` estimated losses (half B's,
drawn with replacement) checks the alarm's false alarms at the default ERT (3e9 events) and at
``gamma = 1e5``, where alarms are frequent enough to measure the mean run length (the same
calibration constant extrapolates to both).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from drift import EstimationReference, PerformanceEstimator
from drift.sequential import GAMMA, STARTED
from model.artifact import load_artifact
from model.data import load_diamonds, split
from model.features import FEATURES, TARGET
from model.loss import fit_loss_model
from producer.events import EventGenerator

log = logging.getLogger(__name__)

WINDOW, WINDOWS = 1_000, 30
DEGRADED = 1.2  # realized MAE ratio above which the alarm should fire
QUIET_EVENTS = 20_000_000
SHORT_GAMMA = 1e5
SCENARIOS: tuple[tuple[str, str, float], ...] = (
    ("quiet", "baseline", 1.0),
    ("expensive x0.25", "covariate-shift", 0.25),
    ("expensive x0.5", "covariate-shift", 0.5),
    ("expensive x1", "covariate-shift", 1.0),
    ("expensive x1.5", "covariate-shift", 1.5),
    ("expensive x2", "covariate-shift", 2.0),
    ("cheap x0.5", "covariate-shift-cheap", 0.5),
    ("cheap x1", "covariate-shift-cheap", 1.0),
    ("rare clarity x1", "covariate-shift-rare", 1.0),
    ("rare clarity x3", "covariate-shift-rare", 3.0),
)


@dataclass(frozen=True)
class Setup:
    reference: EstimationReference
    loss_model: Any
    pool: pd.DataFrame  # half B: features and price
    pool_losses: np.ndarray  # half B's estimated losses (the quiet stream's)
    predict: Callable[[pd.DataFrame], np.ndarray]


def load_setup(seed: int) -> Setup:
    _, test = split(load_diamonds())
    pipeline = load_artifact().pipeline
    predict = lambda rows: np.asarray(pipeline.predict(rows[list(FEATURES)]), float)  # noqa: E731
    test = test.reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(test))
    half_a, half_b = test.iloc[order[::2]], test.iloc[order[1::2]].reset_index(drop=True)
    pred_a = predict(half_a)
    fitted = fit_loss_model(half_a[list(FEATURES)], pred_a, half_a[TARGET].to_numpy(float))
    reference = EstimationReference.build(
        fitted.cross_fitted, half_a[TARGET].to_numpy(float) - pred_a
    )
    losses = fitted.model.predict(half_b[list(FEATURES)].assign(prediction=predict(half_b)))
    return Setup(reference, fitted.model, half_b, np.asarray(losses, float), predict)


def run_scenario(setup: Setup, name: str, scenario: str, strength: float,
                 seed: int, windows: int = WINDOWS) -> dict[str, Any]:
    generator = EventGenerator(setup.pool, scenario=scenario, seed=seed,
                               drift_strength=strength)
    estimator = PerformanceEstimator(setup.reference, setup.loss_model)
    rows, fired = [], None
    abs_sum = n = 0.0
    for _ in range(windows):
        events = generator.frame(WINDOW)
        prediction = setup.predict(events)
        errors = np.abs(events[TARGET].to_numpy(float) - prediction)
        estimator.update(events[list(FEATURES)].assign(prediction=prediction))
        est = estimator.evaluate()  # per window, as the consumer reports
        if fired is None and any(t.kind == STARTED for t in est.transitions):
            fired = next(t.event for t in est.transitions if t.kind == STARTED)
        real_mae, real_rmse = float(errors.mean()), float(np.sqrt(np.mean(errors**2)))
        rows.append((est.mae / real_mae - 1, est.rmse / real_rmse - 1,
                     est.mae_low <= real_mae <= est.mae_high))
        abs_sum += float(errors.sum())
        n += errors.size
    diffs = np.array(rows, dtype=float)
    ratio = abs_sum / n / setup.reference.mae
    degraded = ratio > DEGRADED
    return {
        "scenario": name, "producer_scenario": scenario, "strength": strength,
        "realized_mae_ratio": round(ratio, 3),
        "median_abs_pct_mae": round(float(np.median(np.abs(diffs[:, 0]))) * 100, 2),
        "median_signed_pct_mae": round(float(np.median(diffs[:, 0])) * 100, 2),
        "mean_abs_pct_mae": round(float(np.mean(np.abs(diffs[:, 0]))) * 100, 2),
        "median_abs_pct_rmse": round(float(np.median(np.abs(diffs[:, 1]))) * 100, 2),
        "band_coverage": round(float(diffs[:, 2].mean()), 3),
        "degraded": degraded, "alarm_event": fired, "alarm": fired is not None,
        "alarm_right": (fired is not None) == degraded,
        "within_10pct": float(np.median(np.abs(diffs[:, 0]))) <= 0.10,
    }


def quiet_alarms(setup: Setup, gamma: float, events: int, seed: int) -> dict[str, Any]:
    """Alarms on a quiet stream of `events` estimated losses (half B's, with replacement),
    the estimator restarted after each: the mean run length estimates the ERT."""
    estimator = PerformanceEstimator(setup.reference, setup.loss_model, gamma=gamma)
    rng = np.random.default_rng(seed)
    alarms = done = 0
    while done < events:
        n = min(1 << 16, events - done)
        losses = setup.pool_losses[rng.integers(0, setup.pool_losses.size, n)]
        pos = 0
        while pos < losses.size:
            before = estimator.n_seen
            new = estimator.add_losses(losses[pos:])
            raised = next((t for t in new if t.kind == STARTED), None)
            if raised is None:
                done += losses.size - pos
                break
            alarms += 1
            done += raised.event + 1 - before
            pos += raised.event + 1 - before
            estimator.reset()  # a new run from the next event
    return {"gamma": gamma, "events": done, "alarms": alarms,
            "mean_run": None if alarms == 0 else round(done / alarms)}


def run_performance_estimation(*, seed: int = 42, quick: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    setup = load_setup(seed)
    ref = setup.reference
    rows = []
    for name, scenario, strength in SCENARIOS:
        rows.append(run_scenario(setup, name, scenario, strength, seed,
                                 windows=WINDOWS // 3 if quick else WINDOWS))
        log.info("performance_estimation %s: %s", name, rows[-1])
    quiet_events = QUIET_EVENTS // 20 if quick else QUIET_EVENTS
    quiet = [quiet_alarms(setup, GAMMA, quiet_events, seed),
             quiet_alarms(setup, SHORT_GAMMA, quiet_events, seed + 1)]
    shifts = [r for r in rows if r["producer_scenario"] != "baseline"]
    return {
        "settings": {"window": WINDOW, "windows": WINDOWS // 3 if quick else WINDOWS,
                     "degraded": DEGRADED, "seed": seed, "quick": quick,
                     "alarm_ratio": ref.alarm_ratio},
        "reference": {"mae": ref.mae, "rmse": ref.rmse, "mean_estimate": ref.mean_estimate,
                      "kappa": ref.kappa, "n": ref.n,
                      "held_out_windows_median_abs_pct": ref.windows.median_abs_pct},
        "rows": rows,
        "quiet": quiet,
        "all_alarms_right": all(r["alarm_right"] for r in rows),
        "shifts_within_10pct": sum(r["within_10pct"] for r in shifts),
        "shifts": len(shifts),
        "seconds": round(time.monotonic() - started, 1),
    }


def table(result: dict[str, Any]) -> str:
    """The estimate-vs-realized table as text (Markdown)."""
    lines = ["| scenario | realized MAE ratio | est. vs realized MAE: median abs (signed) | "
             "mean abs | RMSE: median abs | band coverage | alarm at event | right |",
             "|---|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in result["rows"]:
        alarm = "-" if r["alarm_event"] is None else f"{r['alarm_event']:,}"
        lines.append(
            f"| {r['scenario']} | {r['realized_mae_ratio']:.2f} | "
            f"{r['median_abs_pct_mae']:.1f} % ({r['median_signed_pct_mae']:+.1f} %) | "
            f"{r['mean_abs_pct_mae']:.1f} % | {r['median_abs_pct_rmse']:.1f} % | "
            f"{r['band_coverage']:.0%} | {alarm} | "
            f"{'yes' if r['alarm_right'] else 'NO'} |"
        )
    for q in result["quiet"]:
        run = "" if q.get("mean_run") is None else f" (mean run {q['mean_run']:,} events)"
        lines.append(f"\nquiet stream at ERT {q['gamma']:.0e}: {q['alarms']} alarm(s) in "
                     f"{q['events']:,} events{run}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO)
    outcome = run_performance_estimation(quick="--quick" in sys.argv)
    print(table(outcome))
    print(outcome["seconds"])
