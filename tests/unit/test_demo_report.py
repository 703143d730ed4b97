"""demo.report: the PNG and the HTML page render from synthetic drift-report records."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from demo.report import drift_frame, phase_spans, render_html, render_png
from demo.summary import build_summary, flag_changes
from tests.unit.test_demo_summary import PHASES, story

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_drift_frame_has_one_row_per_flag_and_report() -> None:
    frame = drift_frame(story(), started_ms=10_000)
    assert set(frame["series"]) == {"carat", "depth", "table", "cut", "color", "clarity",
                                    "prediction", "concept"}
    assert len(frame[frame["series"] == "carat"]) == len(story())
    first = frame[frame["series"] == "carat"].iloc[0]
    assert first["t"] == pytest.approx(2.0) and first["level"] == pytest.approx(1.0 / 21.4)
    assert frame[frame["series"] == "concept"]["detected"].sum() == 3


def test_phase_spans_end_at_the_next_onset() -> None:
    assert phase_spans(PHASES, 10_000, end=100.0) == [
        ("baseline", 0.0, 30.0), ("data-drift", 30.0, 60.0), ("concept-drift", 60.0, 90.0),
        ("back-to-baseline", 90.0, 100.0)]


def test_png_and_html_render_from_synthetic_records(tmp_path: Path) -> None:
    records = story()
    png = render_png(records, PHASES, 10_000, tmp_path / "drift_report.png")
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    summary = build_summary(records=records, phases=PHASES, predictions=40_000, dlq=0,
                            final_lag=0)
    changes = flag_changes(records, PHASES, started_ms=10_000)
    page = render_html(png, tmp_path / "drift_report.html", summary=summary,
                       changes=changes).read_text()
    assert f"data:image/png;base64,{base64.b64encode(data).decode()}" in page
    assert ("<td>concept_drift</td><td>concept-drift</td><td>4.0</td><td>5000</td>"
            "<td>3000</td><td>concept</td>") in page
    assert "<td>clarity</td><td>drift_started</td><td>data-drift</td>" in page
    assert "<td>back-to-baseline</td><td>none</td><td>concept (3.0 s)</td><td></td>" in page
    assert "false flags (raised in a phase that does not expect them): 0" in page
    assert "flags still raised at the end: none" in page


def test_an_empty_run_still_renders(tmp_path: Path) -> None:
    png = render_png([], [], 0, tmp_path / "empty.png")
    assert png.read_bytes().startswith(PNG_MAGIC)
    page = render_html(png, tmp_path / "empty.html", summary={}, changes=[]).read_text()
    assert "no flag changed" in page
