"""The live terminal view: the story's phase and the consumer's state, refreshed in place.

`render_lines(state)` and `compact_line(state)` are pure (tested without a terminal).
`LiveView.update(state)` redraws the screen on a TTY (cursor home, each line overwritten and
cleared to its end, then the rest of the screen cleared: no scrolling, no flicker) and, when
stdout is not a TTY (CI, a pipe), prints `compact_line` every `status_interval` s instead.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from typing import TextIO

from demo.metrics_reader import ConsumerStatus, FeatureStatus

HOME = "\x1b[H"  # cursor to the top left
CLEAR_LINE = "\x1b[K"  # clear to the end of the line
CLEAR_BELOW = "\x1b[J"  # clear to the end of the screen


@dataclass(frozen=True)
class ViewState:
    phase: str
    phase_index: int  # 1-based; 0 before the first phase
    phase_count: int
    phase_note: str
    seconds_left: float | None
    elapsed: float
    metrics_url: str
    prometheus_url: str | None
    status: ConsumerStatus | None


def _num(value: float | None, spec: str = ",.0f", missing: str = "-") -> str:
    if value is None or not math.isfinite(value):
        return missing
    return format(value, spec)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _flag(detected: bool) -> str:
    return "FLAGGED" if detected else "ok"


def _feature_line(name: str, fs: FeatureStatus) -> str:
    return (f"  {name:<11} {_num(fs.statistic, '.2f'):>9}  {_num(fs.threshold, '.2f'):>9}"
            f"  {_flag(fs.detected)}")


def render_lines(state: ViewState) -> list[str]:
    """The full-screen view, one string per line."""
    s = state.status
    left = "" if state.seconds_left is None else f"{_clock(state.seconds_left)} left"
    title = f"diamond-monitor demo{'':<10}elapsed {_clock(state.elapsed)}"
    phase = (f"Phase {state.phase_index}/{state.phase_count}: {state.phase}"
             if state.phase_index else state.phase)
    lines = [
        title,
        f"{phase:<40}{left:>12}",
        f"  {state.phase_note}" if state.phase_note else "",
        f"Metrics     {state.metrics_url}",
        f"Prometheus  {state.prometheus_url or 'not running'}",
        "",
    ]
    if s is None:
        return [*lines, "waiting for the consumer's first /metrics answer..."]
    lat = s.latency
    lines += [
        f"Throughput  in {_num(s.rate_in)} ev/s   out {_num(s.rate_out)} ev/s",
        f"Totals      consumed {_num(s.consumed)}   predictions {_num(s.predictions)}"
        f"   DLQ {_num(s.dlq)}",
        f"Latency     p50 {_ms(lat.get(0.5))}   p95 {_ms(lat.get(0.95))}"
        f"   p99 {_ms(lat.get(0.99))}",
        f"Lag         {_num(s.lag)} events",
        "",
    ]
    if not s.features:
        return [*lines, "Drift       no drift metrics yet (is drift monitoring enabled?)"]
    ago = "" if s.last_evaluation is None else f", reported {s.at - s.last_evaluation:.0f} s ago"
    lines += [
        f"Data drift  {_num(s.drift_events)} events through the detectors{ago}",
        f"  {'flag':<11} {'statistic':>9}  {'threshold':>9}  status",
        *(_feature_line(name, fs) for name, fs in s.features.items()),
    ]
    if s.prediction is not None:
        lines.append(_feature_line("prediction", s.prediction))
    share = "-" if s.dataset_share is None else f"{s.dataset_share:.0%}"
    lines.append(f"  {'dataset':<11} {'share ' + share:>9}  {'':>9}  {_flag(s.dataset_detected)}")
    if s.concept is not None:
        lines.append(_feature_line("concept", s.concept))
    lines += [
        "",
        f"Concept     MAE ratio {_num(s.concept_mae_ratio, '.2f')} (labels since the last "
        f"report)  {_flag(s.concept_detected)}   labels matched {_num(s.labels_matched)}",
    ]
    if s.estimated is not None:
        lines.append(
            f"Estimated   MAE {_num(s.estimated_mae)} = ratio "
            f"{_num(s.estimated_mae_ratio, '.2f')} (no labels needed)  "
            f"{_flag(s.estimated.detected)}"
        )
    return lines


def compact_line(state: ViewState) -> str:
    """One status line for logs: phase, rates, p95, lag, DLQ and the raised flags."""
    s = state.status
    left = "" if state.seconds_left is None else f" ({state.seconds_left:.0f} s left)"
    head = f"[{_clock(state.elapsed)}] {state.phase}{left}"
    if s is None:
        return f"{head}: waiting for the consumer"
    flagged = [name for name, fs in s.features.items() if fs.detected]
    if s.prediction is not None and s.prediction.detected:
        flagged.append("prediction")
    if s.dataset_detected:
        flagged.append("dataset")
    if s.concept_detected:
        flagged.append("concept")
    estimated = ""
    if s.estimated is not None:
        estimated = f"est. MAE ratio {_num(s.estimated_mae_ratio, '.2f')}, "
        if s.estimated.detected:
            flagged.append("estimated_performance")
    return (f"{head}: in {_num(s.rate_in)} ev/s, out {_num(s.rate_out)} ev/s, "
            f"p95 {_ms(s.latency.get(0.95))}, lag {_num(s.lag)}, DLQ {_num(s.dlq)}, "
            f"MAE ratio {_num(s.concept_mae_ratio, '.2f')}, {estimated}"
            f"flagged: {', '.join(flagged) or 'none'}")


class LiveView:
    """Draws states on ``stream``: in place on a TTY, a line every ``status_interval`` else."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None,
                 status_interval: float = 10.0) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.status_interval = status_interval
        self._next_line = 0.0

    def update(self, state: ViewState, *, force: bool = False) -> None:
        if self.tty:
            width = shutil.get_terminal_size().columns
            body = "".join(f"{line[:width]}{CLEAR_LINE}\n" for line in render_lines(state))
            self.stream.write(f"{HOME}{body}{CLEAR_BELOW}")
        else:
            now = time.monotonic()
            if not force and now < self._next_line:
                return
            self._next_line = now + self.status_interval
            self.stream.write(compact_line(state) + "\n")
        self.stream.flush()
