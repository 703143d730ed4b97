"""demo.report: the PNG and the HTML page render from synthetic drift-report records."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from demo.report import drift_frame, phase_spans, plotted, render_html, render_png
from demo.summary import build_summary, flag_rises
from tests.unit.test_demo_summary import PHASES, story

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_drift_frame_has_one_row_per_series_and_evaluation() -> None:
    frame = drift_frame(story(), started_ms=10_000)
    assert set(frame["series"]) == {"carat", "depth", "table", "cut", "color", "clarity",
                                    "prediction", "concept"}
    assert len(frame[frame["series"] == "carat"]) == len(story())
    assert len(frame[frame["series"] == "concept"]) == 4  # null concept reports: no point
    first = frame[frame["series"] == "carat"].iloc[0]
    assert first["t"] == pytest.approx(2.0) and first["threshold"] == 0.0125


def test_evaluations_of_a_window_less_than_half_full_are_not_plotted() -> None:
    records = story()
    records[0]["data"]["n_rows"] = 400  # 400 of 2000 rows: below the monitor's min_window
    frame = drift_frame(records, started_ms=10_000)
    kept = plotted(frame)
    assert len(kept) == len(frame) - 7  # 6 features + prediction of that evaluation
    assert (kept[kept["series"] != "concept"]["n_rows"] == 2000).all()


def test_phase_spans_end_at_the_next_onset() -> None:
    assert phase_spans(PHASES, 10_000, end=70.0) == [
        ("baseline", 0.0, 30.0), ("data-drift", 30.0, 60.0), ("concept-drift", 60.0, 70.0)]


def test_png_and_html_render_from_synthetic_records(tmp_path: Path) -> None:
    records = story()
    png = render_png(records, PHASES, 10_000, tmp_path / "drift_report.png",
                     concept_threshold=1.5)
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    summary = build_summary(records=records, phases=PHASES, predictions=30_000, dlq=0,
                            final_lag=0)
    rises = flag_rises(records, PHASES, started_ms=10_000)
    page = render_html(png, tmp_path / "drift_report.html", summary=summary,
                       rises=rises).read_text()
    assert f"data:image/png;base64,{base64.b64encode(data).decode()}" in page
    assert ("<td>concept_drift</td><td>concept-drift</td><td>5.0</td><td>5000</td>"
            "<td>3000</td><td>2 of 4</td>") in page
    assert "<td>dataset_drift</td><td colspan=5>not flagged</td>" in page
    assert "<td>feature:clarity</td><td>data-drift</td>" in page
    assert "0 of\n14 evaluations" in page


def test_an_empty_run_still_renders(tmp_path: Path) -> None:
    png = render_png([], [], 0, tmp_path / "empty.png")
    assert png.read_bytes().startswith(PNG_MAGIC)
    page = render_html(png, tmp_path / "empty.html", summary={}, rises=[]).read_text()
    assert "no flag rose" in page
