"""demo.summary: first-flag timings, false flags and flag rises on synthetic drift reports."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from demo.summary import (
    NOT_FLAGGED,
    PhaseRun,
    build_summary,
    false_flags,
    first_flags,
    flag_rises,
    write_summary,
)

FEATURES = ("carat", "depth", "table", "cut", "color", "clarity")
PHASES = [
    PhaseRun("baseline", onset_ms=10_000, events=10_000, events_before=0),
    PhaseRun("data-drift", onset_ms=40_000, events=10_000, events_before=10_000),
    PhaseRun("concept-drift", onset_ms=70_000, events=10_000, events_before=20_000,
             labels=10_000),
]


def record(at_ms: int, n_seen: int, *flagged: str, prediction: bool = False,
           dataset: bool = False, concept: bool | None = None,
           matched: int = 0) -> dict[str, Any]:
    """A drift-report record as the consumer publishes it (only the fields read here)."""
    features = {name: {"feature": name, "effect_size": 0.5 if name in flagged else 0.001,
                       "threshold": 0.0125, "drift_detected": name in flagged}
                for name in FEATURES}
    return {
        "evaluated_at": at_ms, "n_seen": n_seen, "group_id": "g", "instance": "i",
        "data": {"n_rows": 2000, "n_seen": n_seen, "features": features,
                 "prediction": {"effect_size": 0.3, "threshold": 0.02,
                                "drift_detected": prediction},
                 "dataset": {"n_features": 6, "n_drifted": len(flagged),
                             "share": len(flagged) / 6, "drift_detected": dataset}},
        "concept": None if concept is None else {"mae_ratio": 8.0 if concept else 1.0,
                                                 "drift_detected": concept},
        "labels": {"received": matched, "matched": matched},
    }


def story() -> list[dict[str, Any]]:
    records = [record(t, (t - 10_000)) for t in range(12_000, 40_000, 2_000)]  # baseline
    records += [
        record(41_000, 11_000),
        record(43_000, 13_000, "clarity"),
        record(45_000, 15_000, "carat", "clarity", prediction=True),
        record(47_000, 17_000, "carat", "clarity", prediction=True),
        # concept phase: the data-drift flags linger until the window turns over
        record(71_000, 21_000, "carat", concept=False),
        record(73_000, 23_000, concept=False, matched=1_000),
        record(75_000, 25_000, concept=True, matched=3_000),
        record(77_000, 27_000, concept=True, matched=5_000),
    ]
    return records


def test_first_flag_of_each_kind_in_its_own_phase() -> None:
    records = story()
    random.Random(1).shuffle(records)  # the topic's partitions interleave: order by time
    first = first_flags(records, PHASES)
    assert first["data_drift"] == {"phase": "data-drift", "seconds_after_onset": 3.0,
                                   "events_after_onset": 3_000,
                                   "labels_matched_after_onset": 0,
                                   "evaluations_flagged": 3, "evaluations_in_phase": 4}
    assert first["prediction_drift"] == {"phase": "data-drift", "seconds_after_onset": 5.0,
                                         "events_after_onset": 5_000,
                                         "labels_matched_after_onset": 0,
                                         "evaluations_flagged": 2, "evaluations_in_phase": 4}
    assert first["dataset_drift"] == NOT_FLAGGED
    assert first["concept_drift"] == {"phase": "concept-drift", "seconds_after_onset": 5.0,
                                      "events_after_onset": 5_000,
                                      "labels_matched_after_onset": 3_000,
                                      "evaluations_flagged": 2, "evaluations_in_phase": 4}


def test_a_flag_raised_only_after_its_phase_is_not_a_detection() -> None:
    records = [record(41_000, 11_000), record(71_000, 21_000, "carat", prediction=True)]
    first = first_flags(records, PHASES)
    assert first["data_drift"] == NOT_FLAGGED and first["prediction_drift"] == NOT_FLAGGED


def test_no_records_or_no_phase_means_not_flagged() -> None:
    assert set(first_flags([], PHASES).values()) == {NOT_FLAGGED}
    unstarted = [PHASES[0], PhaseRun("data-drift", None, 0, 10_000)]
    assert first_flags(story(), unstarted)["data_drift"] == NOT_FLAGGED


def test_a_stationary_baseline_has_no_false_flag() -> None:
    assert false_flags(story(), PHASES) == {"evaluations": 14, "evaluations_with_a_flag": 0,
                                            "flags": {}}


def test_false_flags_in_baseline_are_counted_per_flag() -> None:
    records = [*story(), record(30_001, 20_000, "depth", dataset=True),
               record(30_002, 20_001, "depth")]
    counted = false_flags(records, PHASES)
    assert counted["evaluations"] == 16 and counted["evaluations_with_a_flag"] == 2
    assert counted["flags"] == {"feature:depth": 2, "dataset": 1}


def test_flag_rises_list_every_off_to_on_transition() -> None:
    records = [*story(), record(79_000, 29_000, "carat", concept=True)]  # carat again
    rises = [(r["flag"], r["phase"], r["seconds_after_onset"])
             for r in flag_rises(records, PHASES, started_ms=5_000)]
    assert rises == [
        ("feature:clarity", "data-drift", 3.0),
        ("feature:carat", "data-drift", 5.0),
        ("prediction", "data-drift", 5.0),
        ("concept", "concept-drift", 5.0),
        ("feature:carat", "concept-drift", 9.0),
    ]
    assert flag_rises(records, PHASES, started_ms=5_000)[0]["seconds_since_start"] == 38.0


def test_summary_document_round_trips_as_json(tmp_path: Path) -> None:
    summary = build_summary(records=story(), phases=PHASES, ok=True, predictions=30_000)
    assert summary["events_produced"] == 30_000 and summary["drift_reports"] == 22
    assert summary["feature_first_flagged"]["clarity"]["seconds_after_onset"] == 3.0
    assert summary["feature_first_flagged"]["depth"] == NOT_FLAGGED
    assert [p["name"] for p in summary["phases"]] == ["baseline", "data-drift", "concept-drift"]
    path = write_summary(summary, tmp_path / "out" / "summary.json")
    assert json.loads(path.read_text()) == summary


@pytest.mark.parametrize("n_seen_key", ["top", "data"])
def test_events_after_onset_read_n_seen_from_either_place(n_seen_key: str) -> None:
    flagged = record(43_000, 13_000, "carat")
    if n_seen_key == "data":
        del flagged["n_seen"]
    first = first_flags([flagged], PHASES)["data_drift"]
    assert isinstance(first, dict) and first["events_after_onset"] == 3_000
