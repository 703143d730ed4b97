"""demo.summary: first flags, flags raised and cleared per phase, false flags and flag changes
on synthetic drift reports."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from demo.summary import (
    ESTIMATED,
    NOT_FLAGGED,
    PhaseRun,
    all_flags,
    build_summary,
    false_flags,
    first_flags,
    flag_changes,
    flags_up_at_end,
    phase_flags,
    phase_mae,
    transitions,
    write_summary,
)

FEATURES = ("carat", "depth", "table", "cut", "color", "clarity")
DATA_FLAGS = ("carat", "clarity", "dataset", "prediction", "estimated_performance")
PHASES = [
    PhaseRun("baseline", onset_ms=10_000, events=10_000, events_before=0),
    PhaseRun("data-drift", onset_ms=40_000, events=10_000, events_before=10_000,
             expected=DATA_FLAGS),
    PhaseRun("concept-drift", onset_ms=70_000, events=10_000, events_before=20_000,
             labels=10_000, expected=("concept",)),
    PhaseRun("back-to-baseline", onset_ms=100_000, events=10_000, events_before=30_000,
             labels=10_000),
]


def state(name: str, up: bool) -> dict[str, Any]:
    return {"flag": name, "drift_detected": up, "statistic": 1.0, "threshold": 13.8 if up
            else 21.4, "detector": "location+0.4" if up else "", "since": 0 if up else None,
            "expected_clear_events": None}


def change(flag: str, kind: str, event: int, time: int | None) -> dict[str, Any]:
    return {"flag": flag, "kind": kind, "statistic": 22.0, "detector": "location+0.4",
            "event": event, "time": time}


def record(at_ms: int, n_seen: int, up: set[str] | None = None,
           changes: list[dict[str, Any]] | None = None, *, matched: int = 0,
           instance: str = "i") -> dict[str, Any]:
    """A drift-report record as the consumer publishes it (only the fields read here)."""
    up = up or set()
    return {
        "evaluated_at": at_ms, "n_seen": n_seen, "group_id": "g", "instance": instance,
        "data": {"n_seen": n_seen, "gamma": 3e9,
                 "features": {name: state(name, name in up) for name in FEATURES},
                 "prediction": state("prediction", "prediction" in up),
                 "dataset": state("dataset", "dataset" in up)},
        "concept": {"n_labels": matched, "gamma": 3e9, "mae_ratio": 1.0,
                    "flag": state("concept", "concept" in up)},
        "transitions": changes or [],
        "labels": {"received": matched, "matched": matched},
    }


S, E = "drift_started", "drift_ended"


def story() -> list[dict[str, Any]]:
    records = [record(t, t - 10_000) for t in range(12_000, 40_000, 2_000)]  # baseline
    drifted = {"carat", "clarity", "dataset", "prediction"}
    records += [
        record(41_000, 11_000),
        record(43_000, 13_000, {"clarity", "dataset"},
               [change("clarity", S, 12_499, 42_500), change("dataset", S, 12_499, 42_500)]),
        record(45_000, 15_000, drifted,
               [change("carat", S, 13_999, 44_000), change("prediction", S, 14_399, 44_500)]),
        record(47_000, 17_000, drifted),
        record(71_000, 21_000, {"carat", "dataset", "prediction"},
               [change("clarity", E, 20_999, 70_500)]),
        record(73_000, 23_000, set(), [
            change("carat", E, 21_499, 71_500), change("dataset", E, 21_499, 71_500),
            change("prediction", E, 21_999, 72_000)], matched=1_000),
        record(75_000, 25_000, {"concept"}, [change("concept", S, 2_999, 74_000)],
               matched=3_000),
        record(77_000, 27_000, {"concept"}, matched=5_000),
        record(101_000, 31_000, {"concept"}, matched=10_500),
        record(104_000, 34_000, set(), [change("concept", E, 12_999, 103_000)],
               matched=13_000),
    ]
    return records


def test_first_flag_of_each_kind_in_its_own_phase() -> None:
    records = story()
    random.Random(1).shuffle(records)  # the topic's partitions interleave: order by time
    first = first_flags(records, PHASES)
    assert first["data_drift"] == {"phase": "data-drift", "flag": "clarity",
                                   "seconds_after_onset": 2.5, "events_after_onset": 2_500,
                                   "labels_matched_after_onset": 0}
    assert first["prediction_drift"] == {"phase": "data-drift", "flag": "prediction",
                                         "seconds_after_onset": 4.5, "events_after_onset": 4_400,
                                         "labels_matched_after_onset": 0}
    assert first["dataset_drift"]["seconds_after_onset"] == 2.5
    # the concept flag's event counts labels: the 3,000th label joined raised it
    assert first["concept_drift"] == {"phase": "concept-drift", "flag": "concept",
                                      "seconds_after_onset": 4.0, "events_after_onset": 5_000,
                                      "labels_matched_after_onset": 3_000}


def test_a_flag_raised_only_after_its_phase_is_not_a_detection() -> None:
    records = [record(41_000, 11_000),
               record(71_000, 21_000, {"carat"}, [change("carat", S, 20_500, 70_600)])]
    first = first_flags(records, PHASES)
    assert first["data_drift"] == NOT_FLAGGED and first["prediction_drift"] == NOT_FLAGGED


def test_no_records_or_no_phase_means_not_flagged() -> None:
    assert set(first_flags([], PHASES).values()) == {NOT_FLAGGED}
    unstarted = [PHASES[0], PhaseRun("data-drift", None, 0, 10_000)]
    assert first_flags(story(), unstarted)["data_drift"] == NOT_FLAGGED


def test_each_phase_raises_and_clears_its_flags_and_nothing_else() -> None:
    flags = phase_flags(story(), PHASES)
    assert flags["baseline"] == {"expected": [], "raised": [], "cleared": [],
                                 "false_flags": []}
    assert [r["flag"] for r in flags["data-drift"]["raised"]] == [
        "clarity", "dataset", "carat", "prediction"]
    assert flags["data-drift"]["false_flags"] == []
    assert [c["flag"] for c in flags["concept-drift"]["cleared"]] == [
        "clarity", "carat", "dataset", "prediction"]
    assert flags["concept-drift"]["raised"] == [{"flag": "concept", "seconds_after_onset": 4.0}]
    assert flags["back-to-baseline"]["cleared"] == [
        {"flag": "concept", "seconds_after_onset": 3.0}]
    assert false_flags(story(), PHASES) == {"count": 0, "flags": {}}
    assert flags_up_at_end(story()) == []


def test_flags_raised_where_not_expected_are_false_flags() -> None:
    records = [*story(),
               record(30_000, 20_000, {"depth", "dataset"}, [
                   change("depth", S, 19_000, 29_000), change("dataset", S, 19_000, 29_000)]),
               record(80_000, 30_000, {"depth"}, [change("depth", S, 29_000, 79_000)])]
    assert false_flags(records, PHASES) == {
        "count": 3, "flags": {"baseline:depth": 1, "baseline:dataset": 1,
                              "concept-drift:depth": 1}}


def test_a_flag_still_raised_in_the_last_report_is_listed() -> None:
    records = [*story(), record(110_000, 40_000, {"color"}, instance="j")]
    assert flags_up_at_end(records) == ["color"]


def test_a_re_read_report_does_not_count_twice_and_a_missing_time_is_the_report_time() -> None:
    twice = record(43_000, 13_000, {"clarity"}, [change("clarity", S, 12_499, None)])
    changes = transitions([twice, dict(twice)])
    assert len(changes) == 1 and changes[0]["time"] == 43_000


def test_flag_changes_list_every_raise_and_clear() -> None:
    changes = flag_changes(story(), PHASES, started_ms=5_000)
    assert [(c["flag"], c["kind"], c["phase"]) for c in changes][:2] == [
        ("clarity", S, "data-drift"), ("dataset", S, "data-drift")]
    assert changes[0]["seconds_since_start"] == 37.5
    assert (changes[-1]["flag"], changes[-1]["kind"], changes[-1]["phase"]) == (
        "concept", E, "back-to-baseline")
    assert len(changes) == 10


def test_summary_document_round_trips_as_json(tmp_path: Path) -> None:
    summary = build_summary(records=story(), phases=PHASES, ok=True, predictions=40_000)
    assert summary["events_produced"] == 40_000 and summary["drift_reports"] == 24
    assert summary["feature_first_flagged"]["clarity"]["seconds_after_onset"] == 2.5
    assert summary["feature_first_flagged"]["depth"] == NOT_FLAGGED
    assert [p["name"] for p in summary["phases"]] == [
        "baseline", "data-drift", "concept-drift", "back-to-baseline"]
    assert summary["false_flags"]["count"] == 0 and summary["flags_up_at_end"] == []
    path = write_summary(summary, tmp_path / "out" / "summary.json")
    assert json.loads(path.read_text()) == summary


# -- estimated vs realized MAE per phase (issue 14) -------------------------------------------


def with_estimate(rec: dict[str, Any], *, ratio: float, n_events: int, realized: float | None,
                  up: bool = False) -> dict[str, Any]:
    """`rec` with an estimate (held-out MAE 250) and the realized MAE ratio of its labels."""
    rec["estimated"] = {"n_events": n_events, "gamma": 3e9, "mae": 250.0 * ratio,
                        "rmse": None, "mae_ratio": ratio, "rmse_ratio": None, "mae_low": None,
                        "mae_high": None, "flag": state(ESTIMATED, up)}
    rec["concept"]["mae_ratio"] = realized
    return rec


def test_estimated_and_realized_mae_per_phase_are_weighted_means() -> None:
    records = [
        with_estimate(record(12_000, 2_000), ratio=1.0, n_events=2_000, realized=None),
        with_estimate(record(14_000, 3_000, matched=1_000), ratio=1.1, n_events=1_000,
                      realized=0.9),
        with_estimate(record(42_000, 5_000, {ESTIMATED}, matched=1_000), ratio=1.6,
                      n_events=2_000, realized=None, up=True),
        with_estimate(record(72_000, 6_000, matched=4_000), ratio=1.0, n_events=1_000,
                      realized=1.6),
    ]
    mae = phase_mae(records, PHASES)
    assert mae["baseline"] == {  # (1.0 * 2000 + 1.1 * 1000) / 3000; labels: 0.9 only
        "estimated_mae": round(250 * 3.1 / 3, 1), "realized_mae": 225.0,
        "estimated_mae_ratio": round(3.1 / 3, 3), "realized_mae_ratio": 0.9,
        "labels_joined": 1_000,
    }
    assert mae["data-drift"]["estimated_mae"] == 400.0
    assert mae["data-drift"]["realized_mae"] is None  # no label joined in the phase
    assert mae["concept-drift"]["realized_mae_ratio"] == 1.6
    assert mae["concept-drift"]["labels_joined"] == 3_000
    assert mae["back-to-baseline"]["estimated_mae"] is None
    assert all_flags(records[2])[ESTIMATED] and ESTIMATED not in all_flags(record(1, 1))
    summary = build_summary(records=records, phases=PHASES)
    assert summary["estimated_vs_realized_mae"] == mae
    flags = phase_flags(records, PHASES)
    assert flags["data-drift"]["false_flags"] == []  # not a feature, and expected there
