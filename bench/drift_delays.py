"""The `drift_delays` case: detection delay of the drift flags against two anchors, no broker.

Streams are held-out diamonds rows drawn with replacement: `PRE` quiet events, then a change
(the scenario) for up to `POST` events, then `BACK` quiet events again. Per scenario and
detector: the delay in events from the onset to the first alarm (None: missed), the false
alarms before the onset, and for the project the events from the return to the last flag
cleared. Detectors, side by side on the same stream:

    project  drift.sequential: SequentialMonitor (features, prediction) and SequentialConcept
             (relative errors), gamma = 3e9 events per flag, batches of `BATCH` events
    adwin    river's ADWIN (default delta 0.002), per event, on each numeric feature and the
             prediction (data scenarios) or on the absolute errors (concept scenarios)
    psi      PSI >= 0.2 over non-overlapping windows of `WINDOW` events, on every feature and
             the prediction (data) or on the binned absolute errors (concept)

Per row, the ratio of the project's delay to the best anchor's (``within_2x``: at most 2), and
to the best anchor among those without false alarms before the onset (an anchor that alarmed on
quiet data may have been lucky after the onset too).

The project also runs at ``gamma = 1e5`` (about ADWIN's ERT here), to show what the long ERT
costs. The monitors run at their defaults: the feature flags give up 4 standard errors of
their reference (training and held-out rows together), sized for a replay of the held-out pool
(`drift.sequential.plan`): the pool stands in for the population and its own sampling error
counts. A separate quiet stream of `NULL_EVENTS` events counts each
detector's false alarms, and `quiet_default` runs 10^8 reference events at the default gamma.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from drift import ReferenceProfile
from drift.sequential import GAMMA, STARTED, SequentialConcept, SequentialMonitor
from drift.sequential.binning import error_bins
from drift.stats import proportions, psi
from model.artifact import load_artifact
from model.data import load_diamonds, split
from model.features import CATEGORICAL_FEATURES, CATEGORIES, FEATURES, NUMERIC_FEATURES, TARGET

log = logging.getLogger(__name__)

PRE, POST, BACK = 20_000, 150_000, 150_000
BATCH, WINDOW = 1_000, 2_000
NULL_EVENTS = 1_000_000
QUIET_EVENTS = 100_000_000
PSI_LIMIT = 0.2
ANCHOR_GAMMA = 1e5  # about ADWIN's ERT here: the project at the anchors' false alarm rate

Rows: TypeAlias = pd.DataFrame  # features, "prediction" and the label column
Change = Callable[[Rows, np.random.Generator], Rows]


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "data" or "concept"
    change: Change
    ramp: int = 0  # events over which the change grows from nothing to full (0: a step)


def _scale(column: str, factor: float) -> Change:
    def change(rows: Rows, rng: np.random.Generator) -> Rows:
        return rows.assign(**{column: rows[column] * factor})
    return change


def _shift(column: str, delta: float) -> Change:
    def change(rows: Rows, rng: np.random.Generator) -> Rows:
        return rows.assign(**{column: rows[column] + delta})
    return change


def _spread(column: str, factor: float) -> Change:
    def change(rows: Rows, rng: np.random.Generator) -> Rows:
        centre = float(rows[column].median())
        return rows.assign(**{column: centre + (rows[column] - centre) * factor})
    return change


def _errors(factor: float, segment: tuple[str, str] | None = None) -> Change:
    """Labels whose residual against the model is `factor` times larger (in one segment)."""
    def change(rows: Rows, rng: np.random.Generator) -> Rows:
        residual = rows[TARGET] - rows["prediction"]
        hit = np.ones(len(rows), bool) if segment is None else rows[segment[0]] == segment[1]
        return rows.assign(**{TARGET: np.where(hit, rows["prediction"] + factor * residual,
                                               rows[TARGET])})
    return change


def _bias(share: float) -> Change:
    def change(rows: Rows, rng: np.random.Generator) -> Rows:
        return rows.assign(**{TARGET: rows[TARGET] * (1 + share)})
    return change


def _reweighted(column: str, weights: dict[str, float]) -> Callable[[Rows], np.ndarray]:
    def weight(rows: Rows) -> np.ndarray:
        return rows[column].map(lambda v: weights.get(str(v), 1.0)).to_numpy(float)
    return weight


def _carat_tilt(strength: float) -> Callable[[Rows], np.ndarray]:
    def weight(rows: Rows) -> np.ndarray:
        z = np.log(rows["carat"].to_numpy(float))
        return np.exp(strength * (z - z.mean()) / z.std())
    return weight


# resampling scenarios draw post-onset rows with these weights instead of uniformly
RESAMPLED: dict[str, Callable[[Rows], np.ndarray]] = {
    "mix cut: Ideal x0.7": _reweighted("cut", {"Ideal": 0.7}),
    "mix color: D,E x1.3": _reweighted("color", {"D": 1.3, "E": 1.3}),
    "mix clarity: SI2,I1 x1.5": _reweighted("clarity", {"SI2": 1.5, "I1": 1.5}),
    "covariate: larger stones (tilt 0.1)": _carat_tilt(0.1),
    "covariate: larger stones (tilt 0.3)": _carat_tilt(0.3),
}


def scenarios() -> list[Scenario]:
    keep = lambda rows, rng: rows  # noqa: E731 - the resampling does the change
    return [
        Scenario("carat x1.02", "data", _scale("carat", 1.02)),
        Scenario("carat x1.05", "data", _scale("carat", 1.05)),
        Scenario("carat x1.10", "data", _scale("carat", 1.10)),
        Scenario("carat x1.30", "data", _scale("carat", 1.30)),
        Scenario("carat ramp to x1.10 over 50k", "data", _scale("carat", 1.10), ramp=50_000),
        Scenario("depth +0.2 (0.14 sd)", "data", _shift("depth", 0.2)),
        Scenario("depth +1.0 (0.7 sd)", "data", _shift("depth", 1.0)),
        Scenario("table +0.5 (0.22 sd)", "data", _shift("table", 0.5)),
        Scenario("depth spread x1.3", "data", _spread("depth", 1.3)),
        Scenario("depth spread x0.8", "data", _spread("depth", 0.8)),
        *(Scenario(name, "data", keep) for name in RESAMPLED),
        Scenario("errors x1.2", "concept", _errors(1.2)),
        Scenario("errors x1.5", "concept", _errors(1.5)),
        Scenario("errors x2", "concept", _errors(2.0)),
        Scenario("labels +5 % (bias)", "concept", _bias(0.05)),
        Scenario("errors x3 in cut=Premium", "concept", _errors(3.0, ("cut", "Premium"))),
        Scenario("errors x2 in clarity=SI1", "concept", _errors(2.0, ("clarity", "SI1"))),
    ]


@dataclass(frozen=True)
class Data:
    pool: Rows  # held-out rows with "prediction" and the label
    profile: ReferenceProfile
    predict: Callable[[Rows], np.ndarray]


def load_data() -> Data:
    """Held-out rows scored by the trained model; the profile built on the train split."""
    train, test = split(load_diamonds())
    pipeline = load_artifact().pipeline
    predict = lambda rows: pipeline.predict(rows[list(FEATURES)])  # noqa: E731
    pool = test.reset_index(drop=True)
    pool = pool.assign(prediction=predict(pool))
    profile = ReferenceProfile.build(
        train, numeric=list(NUMERIC_FEATURES),
        categorical={name: CATEGORIES[name] for name in CATEGORICAL_FEATURES},
        holdout=test, reference_predictions=pool["prediction"].to_numpy(),
        reference_errors=(pool[TARGET] - pool["prediction"]).to_numpy(),
        calibration_windows=50,  # only the bins matter here
    )
    return Data(pool, profile, predict)


def build_stream(data: Data, scenario: Scenario, rng: np.random.Generator) -> Rows:
    pool = data.pool
    pre = pool.iloc[rng.integers(0, len(pool), PRE)]
    weigh = RESAMPLED.get(scenario.name)
    if weigh is None:
        picks = rng.integers(0, len(pool), POST)
    else:
        w = weigh(pool)
        picks = rng.choice(len(pool), size=POST, p=w / w.sum())
    before = pool.iloc[picks].reset_index(drop=True)
    after = scenario.change(before, rng)
    if scenario.ramp:
        share = np.minimum(1.0, np.arange(1, POST + 1) / scenario.ramp)
        for column in after.columns:
            if pd.api.types.is_numeric_dtype(after[column]):
                after[column] = before[column] + share * (after[column] - before[column])
    if scenario.kind == "data":
        after = after.assign(prediction=data.predict(after))
    back = pool.iloc[rng.integers(0, len(pool), BACK)]
    return pd.concat([pre, after, back], ignore_index=True)


def project_alarms(
    data: Data, stream: Rows, kind: str, gamma: float = GAMMA
) -> tuple[list[int], list[int]]:
    """Events where any flag was raised, and where one was cleared (drift_ended)."""
    monitor: SequentialMonitor | SequentialConcept
    if kind == "data":
        monitor = SequentialMonitor(data.profile, gamma=gamma)
    else:
        monitor = SequentialConcept(data.profile, gamma=gamma)
    started: list[int] = []
    ended: list[int] = []
    for lo in range(0, len(stream), BATCH):
        rows = stream.iloc[lo:lo + BATCH]
        if isinstance(monitor, SequentialMonitor):
            new = monitor.update(rows)
        else:
            new = monitor.update(rows[TARGET].to_numpy(float), rows["prediction"].to_numpy(float))
        for t in new:
            if t.flag != "dataset":
                (started if t.kind == STARTED else ended).append(t.event)
    return started, ended


def series(data: Data, stream: Rows, kind: str) -> list[np.ndarray]:
    if kind == "concept":
        return [np.abs(stream[TARGET] - stream["prediction"]).to_numpy(float)]
    return [stream[c].to_numpy(float) for c in (*NUMERIC_FEATURES, "prediction")]


def adwin_alarms(values: list[np.ndarray], stop: int) -> list[int]:
    """Per-event river ADWIN on each series; alarm events (merged), up to `stop`."""
    from river.drift import ADWIN

    alarms: list[int] = []
    for x in values:
        detector = ADWIN()
        for i, v in enumerate(x[:stop].tolist()):
            detector.update(v)
            if detector.drift_detected:
                alarms.append(i)
    return sorted(alarms)


def psi_alarms(data: Data, stream: Rows, kind: str) -> list[int]:
    """Last event of each window where any column's PSI reaches `PSI_LIMIT`."""
    profile = data.profile
    coded: list[tuple[np.ndarray, np.ndarray, int]] = []
    if kind == "concept":
        errors = profile.errors
        assert errors is not None  # noqa: S101 - built with reference_errors
        binned = error_bins("errors", np.asarray(errors.abs_edges),
                            np.asarray(errors.abs_proportions))
        codes = binned.encode(np.abs(stream[TARGET] - stream["prediction"]).to_numpy(float))
        coded.append((codes, binned.p0, binned.p0.size))
    else:
        refs: list[Any] = [*profile.numeric.values(), *profile.categorical.values()]
        for ref in refs:
            coded.append((ref.codes(stream[ref.name]), ref.proportions, ref.n_buckets))
        if profile.prediction is not None:
            pred = profile.prediction
            coded.append((pred.codes(stream["prediction"].to_numpy(float)), pred.proportions,
                          pred.n_buckets))
    alarms = []
    for lo in range(0, len(stream) - WINDOW + 1, WINDOW):
        if any(psi(p0, proportions(c[lo:lo + WINDOW], n)) >= PSI_LIMIT for c, p0, n in coded):
            alarms.append(lo + WINDOW - 1)
    return alarms


def outcome(alarms: list[int], onset: int, end: int) -> dict[str, Any]:
    after = [a for a in alarms if onset <= a < end]
    return {
        "delay": after[0] - onset + 1 if after else None,
        "false_alarms": sum(a < onset for a in alarms),
    }


def best_anchor(anchors: list[dict[str, Any]], *, clean: bool = False) -> int | None:
    """The shortest anchor delay; `clean`: among anchors without false alarms before onset
    (an anchor that alarmed on quiet data before the onset may have been lucky after it)."""
    delays = [a["delay"] for a in anchors
              if a["delay"] is not None and not (clean and a["false_alarms"])]
    return min(delays) if delays else None


def within_2x(ratio: float | None, best: int | None, delay: int | None) -> bool:
    """At most twice the best anchor's delay, or found where every anchor missed."""
    return (ratio is not None and ratio <= 2.0) or (best is None and delay is not None)


def null_false_alarms(data: Data, rng: np.random.Generator, events: int) -> dict[str, Any]:
    """False alarms of each detector on one quiet stream of `events` held-out rows."""
    stream = data.pool.iloc[rng.integers(0, len(data.pool), events)].reset_index(drop=True)
    out: dict[str, Any] = {"events": events}
    for kind in ("data", "concept"):
        started, _ = project_alarms(data, stream, kind)
        out[kind] = {
            "project": len(started),
            "adwin": len(adwin_alarms(series(data, stream, kind), events)),
            "psi": len(psi_alarms(data, stream, kind)),
        }
    return out


def quiet_default(data: Data, rng: np.random.Generator, events: int) -> dict[str, Any]:
    """Alarms at the default gamma over bin codes drawn from each reference (p0).

    `events` codes for a numeric feature (depth), a tenth of that for the prediction and the
    concept flag: a vectorised stream, ~1 minute per 10^8 events on one core.
    """
    monitor = SequentialMonitor(data.profile)
    flags = {"depth": monitor.features["depth"], "concept": SequentialConcept(data.profile).flag}
    if monitor.prediction is not None:
        flags["prediction"] = monitor.prediction
    out: dict[str, Any] = {}
    for name, flag in flags.items():
        cdf = np.cumsum(flag.bank.p0)
        alarms, seen, peak = 0, 0, 0.0
        total = events if name == "depth" else events // 10
        while seen < total:
            size = min(65_536, total - seen)
            codes = np.minimum(np.searchsorted(cdf, rng.random(size)), cdf.size - 1)
            alarms += sum(t.kind == STARTED for t in flag.update(codes, seen))
            peak = max(peak, flag.statistic)
            seen += size
        out[name] = {"events": total, "alarms": alarms, "h": flag.bank.h,
                     "max_statistic_at_batch_ends": peak}
    return out


def run_drift_delays(*, seed: int = 42, quick: bool = False) -> dict[str, Any]:
    """The delay table (one row per scenario) and the quiet-stream false alarms."""
    started_at = time.monotonic()
    data = load_data()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    chosen = scenarios()[::4] if quick else scenarios()
    for scenario in chosen:
        stream = build_stream(data, scenario, rng)
        started, ended = project_alarms(data, stream, scenario.kind)
        back = PRE + POST
        project = outcome(started, PRE, back)
        raised_after = [e for e in started if e >= back]
        last_end = max((e for e in ended if e >= back), default=None)
        cleared = None if raised_after or last_end is None else last_end - back + 1
        project["clear_events"] = cleared if project["delay"] is not None else None
        project["cleared_during_drift"] = sum(PRE <= e < back for e in ended)
        short, _ = project_alarms(data, stream, scenario.kind, ANCHOR_GAMMA)
        project["delay_at_anchor_ert"] = outcome(short, PRE, back)["delay"]
        adwin = outcome(adwin_alarms(series(data, stream, scenario.kind), back), PRE, back)
        psi_rule = outcome(psi_alarms(data, stream, scenario.kind), PRE, back)
        best = best_anchor([adwin, psi_rule])
        ratio = None if best is None or project["delay"] is None else project["delay"] / best
        clean = best_anchor([adwin, psi_rule], clean=True)
        clean_ratio = None if clean is None or project["delay"] is None else (
            project["delay"] / clean
        )
        rows.append({
            "scenario": scenario.name, "kind": scenario.kind, "project": project,
            "adwin": adwin, "psi": psi_rule, "ratio_to_best_anchor": ratio,
            "within_2x": within_2x(ratio, best, project["delay"]),
            "ratio_to_best_clean_anchor": clean_ratio,
            "within_2x_of_clean_anchor": within_2x(clean_ratio, clean, project["delay"]),
        })
        log.info("drift_delays %s: %s", scenario.name, rows[-1])
    null = null_false_alarms(data, rng, 100_000 if quick else NULL_EVENTS)
    quiet = quiet_default(data, rng, 1_000_000 if quick else QUIET_EVENTS)
    return {
        "settings": {"pre": PRE, "post": POST, "back": BACK, "batch": BATCH, "window": WINDOW,
                     "psi_limit": PSI_LIMIT, "gamma": SequentialMonitor(data.profile).gamma,
                     "seed": seed, "quick": quick},
        "rows": rows,
        "null": null,
        "quiet_default": quiet,
        "all_within_2x": all(r["within_2x"] for r in rows),
        "rows_within_2x": sum(r["within_2x"] for r in rows),
        "rows_within_2x_of_clean_anchor": sum(r["within_2x_of_clean_anchor"] for r in rows),
        "project_false_alarms": sum(r["project"]["false_alarms"] for r in rows)
        + null["data"]["project"] + null["concept"]["project"]
        + sum(v["alarms"] for v in quiet.values() if isinstance(v, dict)),
        "seconds": round(time.monotonic() - started_at, 1),
    }


def table(result: dict[str, Any]) -> str:
    """The delay table as text (Markdown)."""
    def cell(d: dict[str, Any]) -> str:
        delay = "miss" if d["delay"] is None else f"{d['delay']:,}"
        return f"{delay} ({d['false_alarms']})"

    def ratio_cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = ["| scenario | project | ADWIN | PSI >= 0.2 | ratio | ratio, clean anchors "
             "| project at ERT 1e5 | clears after | flaps |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        ratio = ratio_cell(r["ratio_to_best_anchor"])
        clean = ratio_cell(r.get("ratio_to_best_clean_anchor"))
        clear = r["project"]["clear_events"]
        short = r["project"]["delay_at_anchor_ert"]
        lines.append(
            f"| {r['scenario']} | {cell(r['project'])} | {cell(r['adwin'])} | {cell(r['psi'])} "
            f"| {ratio} | {clean} | {'miss' if short is None else f'{short:,}'} "
            f"| {'-' if clear is None else f'{clear:,}'} "
            f"| {r['project']['cleared_during_drift']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO)
    outcome_ = run_drift_delays(quick="--quick" in sys.argv)
    print(table(outcome_))
    print(json.dumps(outcome_["null"]), json.dumps(outcome_["quiet_default"]), outcome_["seconds"])
