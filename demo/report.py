"""The drift report: a PNG (seaborn/matplotlib) and an HTML page that embeds it.

From the drift-report records: one small panel per feature (effect size over time, its
threshold, the evaluations that flagged it), one for the prediction drift, one for the concept
MAE ratio against its threshold; every panel marks the phase onsets. Evaluations of a window
less than half full (the first seconds) are left out: nothing can be flagged on them. The HTML
page embeds the PNG (base64) with a table of the first flag of each drift kind and of every time
a flag rose.
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
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from demo.summary import NOT_FLAGGED, PhaseRun, Record, sort_records

FLOOR = 1e-4  # effect sizes are drawn on a log scale: zeros are shown at this floor
PHASE_COLORS = {"baseline": "#4c72b0", "data-drift": "#dd8452", "concept-drift": "#8172b3"}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else math.nan


COLUMNS = ["t", "series", "effect_size", "threshold", "detected", "n_rows"]


def drift_frame(records: Sequence[Record], started_ms: int) -> pd.DataFrame:
    """One row per (evaluation, series): t, series, effect_size, threshold, detected, n_rows
    (rows in the drift window; NaN for the concept series)."""
    rows = []
    for record in sort_records(records):
        t = (int(record["evaluated_at"]) - started_ms) / 1000
        data = record.get("data") or {}
        n_rows = _number(data.get("n_rows"))
        series = dict((data.get("features") or {}).items())
        if data.get("prediction"):
            series["prediction"] = data["prediction"]
        for name, fd in series.items():
            rows.append({"t": t, "series": name, "effect_size": _number(fd.get("effect_size")),
                         "threshold": _number(fd.get("threshold")),
                         "detected": bool(fd.get("drift_detected")), "n_rows": n_rows})
        concept = record.get("concept")
        if concept:
            rows.append({"t": t, "series": "concept", "effect_size": _number(
                concept.get("mae_ratio")), "threshold": math.nan,
                "detected": bool(concept.get("drift_detected")), "n_rows": math.nan})
    return pd.DataFrame(rows, columns=COLUMNS)


def plotted(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the evaluations of a window less than half full: the monitor cannot flag them
    (its `min_window`), and their tiny-sample statistics would stretch every y axis."""
    full = frame["n_rows"].max() if frame["n_rows"].notna().any() else 0.0
    keep = (frame["series"] == "concept") | (frame["n_rows"] >= full / 2)
    return frame[keep]


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
           *, threshold: float | None = None, log: bool = True, xlabel: bool = True) -> None:
    data = frame.assign(effect_size=frame["effect_size"].clip(lower=FLOOR) if log
                        else frame["effect_size"])
    if not data.empty:
        sns.lineplot(data=data, x="t", y="effect_size", ax=ax, color="#333333", linewidth=1.3,
                     estimator=None, errorbar=None,
                     label="effect size" if threshold is None else "MAE ratio")
        if threshold is None:
            ax.step(data["t"], data["threshold"], where="post", color="#c44e52",
                    linestyle="--", linewidth=1.1, label="threshold")
        flagged = data[data["detected"]]
        ax.scatter(flagged["t"], flagged["effect_size"], color="#c44e52", s=14, zorder=3,
                   label="flagged")
    if threshold is not None:
        ax.axhline(threshold, color="#c44e52", linestyle="--", linewidth=1.1,
                   label=f"concept threshold {threshold:g}")
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    _mark_phases(ax, spans)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlabel("seconds since the story started" if xlabel else "", fontsize=8)
    ax.set_ylabel("")
    ax.tick_params(labelsize=8)
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()


def render_png(records: Sequence[Record], phases: Sequence[PhaseRun], started_ms: int,
               path: Path, *, concept_threshold: float = 1.5) -> Path:
    frame = drift_frame(records, started_ms)
    spans = phase_spans(phases, started_ms, float(frame["t"].max()) if len(frame) else 0.0)
    frame = plotted(frame)
    features = [s for s in dict.fromkeys(frame["series"]) if s not in ("prediction", "concept")]
    ncols = 3
    nrows = max(1, math.ceil(len(features) / ncols)) + 1
    with sns.axes_style("whitegrid"):
        figure = Figure(figsize=(15, 3.2 * nrows), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(nrows, ncols)
        for i, name in enumerate(features):
            ax = figure.add_subplot(grid[i // ncols, i % ncols])
            _panel(ax, frame[frame["series"] == name], f"{name}: effect size (PSI)", spans,
                   xlabel=False)
        last = nrows - 1
        pred_ax = figure.add_subplot(grid[last, 0])
        _panel(pred_ax, frame[frame["series"] == "prediction"],
               "prediction drift: effect size (PSI)", spans)
        concept_ax = figure.add_subplot(grid[last, 1:])
        _panel(concept_ax, frame[frame["series"] == "concept"],
               "concept drift: window MAE / reference MAE (late labels)", spans,
               threshold=concept_threshold, log=False)
        right = max([end for _, _, end in spans] + [float(frame["t"].max() or 0.0)
                                                    if len(frame) else 0.0]) + 2
        for ax in figure.axes:  # one time axis for every panel
            ax.set_xlim(0, right)
        handles, labels = figure.axes[0].get_legend_handles_labels()
        c_handles, c_labels = concept_ax.get_legend_handles_labels()
        phases_seen = [name for name, _, _ in spans]
        handles += c_handles[-1:] + [Patch(color=_phase_color(n), alpha=0.3) for n in phases_seen]
        labels += c_labels[-1:] + [f"phase {n}" for n in phases_seen]
        figure.legend(handles, labels, loc="outside lower center", ncols=len(handles),
                      fontsize=9, frameon=False)
        figure.suptitle("Drift monitor during the demo story (dotted lines: phase onsets; "
                        "effect sizes on a log scale)", fontsize=12, x=0.01, ha="left")
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
    return path


def _cell(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def render_html(png: Path, path: Path, *, summary: dict[str, Any],
                rises: Sequence[dict[str, Any]]) -> Path:
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    first = summary.get("first_flagged", {})
    first_rows = "".join(
        f"<tr><td>{_cell(kind)}</td>" + (
            f"<td>{_cell(v['phase'])}</td><td>{_cell(v['seconds_after_onset'])}</td>"
            f"<td>{_cell(v['events_after_onset'])}</td>"
            f"<td>{_cell(v.get('labels_matched_after_onset'))}</td>"
            f"<td>{_cell(v.get('evaluations_flagged'))} of {_cell(v.get('evaluations_in_phase'))}"
            "</td>" if isinstance(v, dict)
            else f"<td colspan=5>{_cell(NOT_FLAGGED)}</td>") + "</tr>"
        for kind, v in first.items())
    rise_rows = "".join(
        f"<tr><td>{_cell(r['flag'])}</td><td>{_cell(r['phase'])}</td>"
        f"<td>{_cell(r['seconds_since_start'])}</td><td>{_cell(r['seconds_after_onset'])}</td>"
        "</tr>" for r in rises) or "<tr><td colspan=4>no flag rose</td></tr>"
    false = summary.get("false_flags_baseline", {})
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
drift evaluations {_cell(summary.get('drift_reports'))};
false flags during baseline: {_cell(false.get('evaluations_with_a_flag'))} of
{_cell(false.get('evaluations'))} evaluations.</p>
<img alt="drift report" src="data:image/png;base64,{image}">
<h2>First flag of each drift kind</h2>
<table><tr><th>kind</th><th>phase</th><th>seconds after onset</th><th>events after onset</th>
<th>labels joined after onset</th><th>evaluations of the phase flagged</th></tr>
{first_rows}</table>
<h2>Every time a flag rose</h2>
<table><tr><th>flag</th><th>phase</th><th>seconds since start</th><th>seconds after onset</th>
</tr>{rise_rows}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
