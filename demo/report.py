"""The drift report: a PNG (seaborn/matplotlib) and an HTML page that embeds it.

From the drift-report records: one small panel per flag (each feature, the prediction, the
concept), its sequential statistic over its threshold at each report (1 = the state changes: the
flag is raised while down, cleared while up) with the reports that had it raised; every panel
marks the phase onsets. The HTML page embeds the PNG (base64) with a table of the first flag of
each drift kind, of the flags each phase raised and cleared, and of every flag change.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from demo.summary import NOT_FLAGGED, PhaseRun, Record, sort_records

PHASE_COLORS = {"baseline": "#4c72b0", "data-drift": "#dd8452", "concept-drift": "#8172b3",
                "back-to-baseline": "#55a868", "retrained": "#55a868"}
SWAP_COLOR = "#2ca02c"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else math.nan


COLUMNS = ["t", "series", "level", "detected"]


def _level(state: dict[str, Any]) -> float:
    """statistic / threshold: the flag changes state when it reaches 1."""
    statistic, threshold = _number(state.get("statistic")), _number(state.get("threshold"))
    return statistic / threshold if threshold > 0 else math.nan


def drift_frame(records: Sequence[Record], started_ms: int) -> pd.DataFrame:
    """One row per (report, flag): t, series, level (statistic / threshold), detected."""
    rows = []
    for record in sort_records(records):
        t = (int(record["evaluated_at"]) - started_ms) / 1000
        data = record.get("data") or {}
        series = dict((data.get("features") or {}).items())
        if data.get("prediction"):
            series["prediction"] = data["prediction"]
        concept = (record.get("concept") or {}).get("flag")
        if concept:
            series["concept"] = concept
        for name, state in series.items():
            rows.append({"t": t, "series": name, "level": _level(state),
                         "detected": bool(state.get("drift_detected"))})
    return pd.DataFrame(rows, columns=COLUMNS)


Span = tuple[str, float, float]  # phase name, onset and end in seconds since the start


def _phase_color(name: str) -> str:
    return PHASE_COLORS.get(name, "grey")


def _mark_phases(ax: Axes, spans: Sequence[Span]) -> None:
    """A dotted line at each onset and a light band over each phase (named in the legend)."""
    for name, start, end in spans:
        ax.axvline(start, color=_phase_color(name), linewidth=1.4, linestyle=":")
        ax.axvspan(start, end, color=_phase_color(name), alpha=0.09, linewidth=0)


def phase_spans(phases: Sequence[PhaseRun], started_ms: int, end: float) -> list[Span]:
    onsets = [(p.name, (p.onset_ms - started_ms) / 1000) for p in phases
              if p.onset_ms is not None]
    if not onsets:
        return []
    ends = [t for _, t in onsets[1:]] + [max(end, onsets[-1][1])]
    return [(name, start, stop) for (name, start), stop in zip(onsets, ends, strict=True)]


def _panel(ax: Axes, frame: pd.DataFrame, title: str, spans: Sequence[Span],
           *, xlabel: bool = True) -> None:
    if not frame.empty:
        sns.lineplot(data=frame, x="t", y="level", ax=ax, color="#333333", linewidth=1.3,
                     estimator=None, errorbar=None, label="statistic / threshold")
        flagged = frame[frame["detected"]]
        ax.scatter(flagged["t"], flagged["level"], color="#c44e52", s=14, zorder=3,
                   label="flag raised")
    ax.axhline(1.0, color="#c44e52", linestyle="--", linewidth=1.1, label="state changes")
    ax.set_ylim(0, 1.15)
    _mark_phases(ax, spans)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel("seconds since the story started" if xlabel else "", fontsize=8)
    ax.set_ylabel("")
    ax.tick_params(labelsize=8)
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()


def render_png(records: Sequence[Record], phases: Sequence[PhaseRun], started_ms: int,
               path: Path, *, swap_s: float | None = None) -> Path:
    """`swap_s`: when the retrained model was swapped in (seconds since the start), drawn as
    a solid vertical line on every panel."""
    frame = drift_frame(records, started_ms)
    spans = phase_spans(phases, started_ms, float(frame["t"].max()) if len(frame) else 0.0)
    features = [s for s in dict.fromkeys(frame["series"]) if s not in ("prediction", "concept")]
    ncols = 3
    nrows = max(1, math.ceil(len(features) / ncols)) + 1
    with sns.axes_style("whitegrid"):
        figure = Figure(figsize=(15, 3.2 * nrows), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(nrows, ncols)
        for i, name in enumerate(features):
            ax = figure.add_subplot(grid[i // ncols, i % ncols])
            _panel(ax, frame[frame["series"] == name], f"feature {name}", spans, xlabel=False)
        last = nrows - 1
        _panel(figure.add_subplot(grid[last, 0]), frame[frame["series"] == "prediction"],
               "prediction", spans)
        _panel(figure.add_subplot(grid[last, 1:]), frame[frame["series"] == "concept"],
               "concept (errors of late labels)", spans)
        right = max([end for _, _, end in spans] + [float(frame["t"].max() or 0.0)
                                                    if len(frame) else 0.0]) + 2
        for ax in figure.axes:  # one time axis for every panel
            ax.set_xlim(0, right)
            if swap_s is not None:
                ax.axvline(swap_s, color=SWAP_COLOR, linewidth=2.0, label="model swapped")
        handles, labels = figure.axes[-1].get_legend_handles_labels()
        phases_seen = list(dict.fromkeys(name for name, _, _ in spans))
        handles += [Patch(color=_phase_color(n), alpha=0.3) for n in phases_seen]
        labels += [f"phase {n}" for n in phases_seen]
        figure.legend(handles, labels, loc="outside lower center", ncols=len(handles),
                      fontsize=9, frameon=False)
        figure.suptitle("Drift flags during the demo story: each flag's sequential statistic "
                        "over its threshold (dotted lines: phase onsets)", fontsize=12, x=0.01,
                        ha="left")
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
    return path


def _cell(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def _flags(entries: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{e['flag']} ({e['seconds_after_onset']} s)" for e in entries) or "none"


def render_html(png: Path, path: Path, *, summary: dict[str, Any],
                changes: Sequence[dict[str, Any]]) -> Path:
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    first = summary.get("first_flagged", {})
    first_rows = "".join(
        f"<tr><td>{_cell(kind)}</td>" + (
            f"<td>{_cell(v['phase'])}</td><td>{_cell(v['seconds_after_onset'])}</td>"
            f"<td>{_cell(v['events_after_onset'])}</td>"
            f"<td>{_cell(v.get('labels_matched_after_onset'))}</td>"
            f"<td>{_cell(v.get('flag'))}</td>" if isinstance(v, dict)
            else f"<td colspan=5>{_cell(NOT_FLAGGED)}</td>") + "</tr>"
        for kind, v in first.items())
    change_rows = "".join(
        f"<tr><td>{_cell(r['flag'])}</td><td>{_cell(r['kind'])}</td><td>{_cell(r['phase'])}</td>"
        f"<td>{_cell(r['seconds_since_start'])}</td><td>{_cell(r['seconds_after_onset'])}</td>"
        "</tr>" for r in changes) or "<tr><td colspan=5>no flag changed</td></tr>"
    per_phase = "".join(
        f"<tr><td>{_cell(name)}</td><td>{_cell(_flags(v['raised']))}</td>"
        f"<td>{_cell(_flags(v['cleared']))}</td><td>{_cell(', '.join(v['false_flags']))}</td>"
        "</tr>" for name, v in summary.get("phase_flags", {}).items())
    mae_rows = "".join(
        f"<tr><td>{_cell(name)}</td><td>{_cell(v['estimated_mae'])}</td>"
        f"<td>{_cell(v['realized_mae'])}</td><td>{_cell(v['estimated_mae_ratio'])}</td>"
        f"<td>{_cell(v['realized_mae_ratio'])}</td><td>{_cell(v['labels_joined'])}</td></tr>"
        for name, v in summary.get("estimated_vs_realized_mae", {}).items()
    ) or "<tr><td colspan=6>no estimate (the model has no loss model)</td></tr>"
    act = summary.get("retraining")
    act_html = ""
    if act is not None:
        before, after = act.get("mae_before") or {}, act.get("mae_after") or {}
        act_html = (
            "<h2>The closing act: the retraining loop</h2><table><tr><th>concept alarm</th>"
            "<th>challenger registered</th><th>promoted</th><th>swapped in</th>"
            "<th>MAE before (ratio)</th><th>MAE after (ratio)</th></tr>"
            f"<tr><td>{_cell(act.get('alarm_s'))} s</td><td>{_cell(act.get('candidate_s'))} s"
            f" ({_cell(act.get('candidate'))})</td><td>{_cell(act.get('promotion_s'))} s</td>"
            f"<td>{_cell(act.get('swap_s'))} s</td>"
            f"<td>{_cell(before.get('mae'))} ({_cell(before.get('mae_ratio'))})</td>"
            f"<td>{_cell(after.get('mae'))} ({_cell(after.get('mae_ratio'))})</td></tr></table>"
            "<p>Seconds since the story started; a ratio is over the held-out MAE of the model "
            "that scored the events (the green line in the plots is the swap).</p>")
    false = summary.get("false_flags", {})
    phases = "".join(
        f"<li>{_cell(p['name'])}: {_cell(p['events'])} events, {_cell(p['labels'])} labels</li>"
        for p in summary.get("phases", []))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>diamond-monitor demo: drift report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
th {{ background: #f3f3f3; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Drift report</h1>
<p>Phases:</p><ul>{phases}</ul>
<p>Predictions {_cell(summary.get('predictions'))}, dead letters {_cell(summary.get('dlq'))},
final lag {_cell(summary.get('final_lag'))},
drift reports {_cell(summary.get('drift_reports'))};
false flags (raised in a phase that does not expect them): {_cell(false.get('count'))};
flags still raised at the end: {_cell(', '.join(summary.get('flags_up_at_end', [])) or 'none')}.
</p>
<img alt="drift report" src="data:image/png;base64,{image}">
{act_html}
<h2>First flag of each drift kind</h2>
<table><tr><th>kind</th><th>phase</th><th>seconds after onset</th><th>events after onset</th>
<th>labels joined after onset</th><th>flag</th></tr>
{first_rows}</table>
<h2>Flags raised and cleared per phase (seconds after its onset)</h2>
<table><tr><th>phase</th><th>raised</th><th>cleared</th><th>false flags</th></tr>
{per_phase}</table>
<h2>Estimated (no labels) vs realized MAE per phase</h2>
<table><tr><th>phase</th><th>estimated MAE</th><th>realized MAE</th><th>estimated ratio</th>
<th>realized ratio</th><th>labels joined</th></tr>{mae_rows}</table>
<h2>Every flag change</h2>
<table><tr><th>flag</th><th>change</th><th>phase</th><th>seconds since start</th>
<th>seconds after onset</th></tr>{change_rows}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
