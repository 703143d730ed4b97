"""The pure parts of the drift_delays case: outcomes, the table, the merge into the record."""

from __future__ import annotations

import json
from pathlib import Path

from bench.drift_delays import best_anchor, outcome, scenarios, table, within_2x
from bench.report import merge_case


def test_outcome_counts_false_alarms_before_the_onset_and_the_first_delay_after() -> None:
    assert outcome([5, 90, 120, 130], onset=100, end=200) == {"delay": 21, "false_alarms": 2}
    assert outcome([250], onset=100, end=200) == {"delay": None, "false_alarms": 0}


def test_merge_keeps_the_rest_of_the_record(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"e2e_eps": 123.0, "drift_delays": {"old": True}}))
    merged = merge_case(path, "drift_delays", {"rows": []})
    assert merged == {"e2e_eps": 123.0, "drift_delays": {"rows": []}}
    missing = merge_case(tmp_path / "missing.json", "drift_delays", {"rows": []})
    assert missing == {"drift_delays": {"rows": []}}


def test_table_has_one_row_per_scenario() -> None:
    row = {
        "scenario": "s", "ratio_to_best_anchor": 1.5, "ratio_to_best_clean_anchor": None,
        "project": {"delay": 300, "false_alarms": 0, "clear_events": 900,
                    "cleared_during_drift": 0, "delay_at_anchor_ert": 150},
        "adwin": {"delay": 200, "false_alarms": 1}, "psi": {"delay": None, "false_alarms": 0},
    }
    text = table({"rows": [row]})
    assert text.splitlines()[2] == (
        "| s | 300 (0) | 200 (1) | miss (0) | 1.50 | - | 150 | 900 | 0 |"
    )


def test_the_clean_anchor_ignores_anchors_with_false_alarms_before_onset() -> None:
    adwin = {"delay": 32, "false_alarms": 4}
    psi = {"delay": 2000, "false_alarms": 0}
    assert best_anchor([adwin, psi]) == 32
    assert best_anchor([adwin, psi], clean=True) == 2000
    assert best_anchor([adwin, {"delay": None, "false_alarms": 0}], clean=True) is None
    assert within_2x(None, None, 144)  # every clean anchor missed, the project did not
    assert not within_2x(None, None, None) and not within_2x(2.5, 100, 250)


def test_scenarios_cover_every_family() -> None:
    names = " ".join(s.name for s in scenarios())
    for family in ("x1.02", "ramp", "+0.2", "spread", "mix", "covariate", "errors", "bias",
                   "cut=Premium"):
        assert family in names
