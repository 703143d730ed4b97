"""demo.live_view: the lines drawn for a given state, in place on a TTY, a line otherwise."""

from __future__ import annotations

import io

from demo.live_view import CLEAR_BELOW, HOME, LiveView, ViewState, compact_line, render_lines
from demo.metrics_reader import ConsumerStatus, FeatureStatus


def status(**overrides) -> ConsumerStatus:
    values = dict(
        at=1000.0, rate_in=1002.4, rate_out=1001.6, consumed=41234, predictions=41230, dlq=4,
        latency={0.5: 0.012, 0.95: 0.0451, 0.99: 0.0884}, lag=132,
        features={
            "carat": FeatureStatus(2.5, 13.82, True),
            "depth": FeatureStatus(0.12, 21.4, False),
            "clarity": FeatureStatus(None, None, False),
        },
        prediction=FeatureStatus(3.01, None, True), dataset_share=1 / 3,
        dataset_detected=False, concept_mae_ratio=1.02, concept_detected=False,
        concept=FeatureStatus(0.0, 21.9, False),
        labels_matched=0, drift_events=41230, last_evaluation=999.0,
    )
    values.update(overrides)
    return ConsumerStatus(**values)


def state(**overrides) -> ViewState:
    values = dict(
        phase="data-drift", phase_index=2, phase_count=3, phase_note="carat x1.30",
        seconds_left=31.4, elapsed=62.0, metrics_url="http://127.0.0.1:8000/metrics",
        prometheus_url="http://127.0.0.1:9090", status=status(),
    )
    values.update(overrides)
    return ViewState(**values)


def test_render_lines_shows_every_part_of_the_snapshot() -> None:
    lines = render_lines(state())
    text = "\n".join(lines)
    assert lines[0].startswith("diamond-monitor demo") and lines[0].endswith("elapsed 1:02")
    assert lines[1].startswith("Phase 2/3: data-drift") and lines[1].endswith("0:31 left")
    for expected in (
        "Metrics     http://127.0.0.1:8000/metrics",
        "Prometheus  http://127.0.0.1:9090",
        "Throughput  in 1,002 ev/s   out 1,002 ev/s",
        "Totals      consumed 41,234   predictions 41,230   DLQ 4",
        "Latency     p50 12 ms   p95 45 ms   p99 88 ms",
        "Lag         132 events",
        "Data drift  41,230 events through the detectors, reported 1 s ago",
        "  carat            2.50      13.82  FLAGGED",
        "  depth            0.12      21.40  ok",
        "  clarity             -          -  ok",
        "  prediction       3.01          -  FLAGGED",
        "  concept          0.00      21.90  ok",
    ):
        assert expected in lines
    assert "dataset" in text and "share 33%" in text
    assert ("Concept     MAE ratio 1.02 (labels since the last report)  ok   labels matched 0"
            in lines)


def test_render_lines_before_the_consumer_answers_and_without_drift_metrics() -> None:
    waiting = render_lines(state(status=None, prometheus_url=None, phase_index=0,
                                 phase="starting", seconds_left=None))
    assert waiting[1].strip() == "starting"
    assert "Prometheus  not running" in waiting
    assert waiting[-1].startswith("waiting for the consumer")
    no_drift = render_lines(state(status=status(features={}, prediction=None)))
    assert no_drift[-1].startswith("Drift       no drift metrics yet")


def test_concept_flag_and_compact_line() -> None:
    flagged = state(status=status(concept_mae_ratio=7.61, concept_detected=True,
                                  labels_matched=3329))
    assert any(line.startswith("Concept     MAE ratio 7.61 (labels since the last report)  "
                               "FLAGGED") for line in render_lines(flagged))
    line = compact_line(flagged)
    assert line == ("[1:02] data-drift (31 s left): in 1,002 ev/s, out 1,002 ev/s, p95 45 ms, "
                    "lag 132, DLQ 4, MAE ratio 7.61, flagged: carat, prediction, concept")
    assert compact_line(state(status=None)).endswith("waiting for the consumer")


def test_tty_redraws_in_place() -> None:
    out = io.StringIO()
    view = LiveView(out, tty=True)
    view.update(state())
    view.update(state())
    frames = out.getvalue().split(HOME)
    assert frames[0] == "" and len(frames) == 3  # every frame starts at the top left
    assert all(frame.endswith(CLEAR_BELOW) for frame in frames[1:])
    assert "\n" not in out.getvalue().split(HOME)[0]


def test_not_a_tty_prints_a_status_line_every_interval() -> None:
    out = io.StringIO()
    view = LiveView(out, tty=False, status_interval=10.0)
    view.update(state())
    view.update(state())  # within the interval: nothing
    view.update(state(), force=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("[1:02] data-drift") for line in lines)
    assert HOME not in out.getvalue()


def test_the_label_free_estimate_is_shown_when_the_model_has_a_loss_model() -> None:
    estimated = state(status=status(estimated_mae=402.4, estimated_mae_ratio=1.62,
                                    estimated=FeatureStatus(19.0, 13.8, True)))
    assert ("Estimated   MAE 402 = ratio 1.62 (no labels needed)  FLAGGED"
            in render_lines(estimated))
    assert compact_line(estimated) == (
        "[1:02] data-drift (31 s left): in 1,002 ev/s, out 1,002 ev/s, p95 45 ms, lag 132, "
        "DLQ 4, MAE ratio 1.02, est. MAE ratio 1.62, flagged: carat, prediction, "
        "estimated_performance")
    assert not any(line.startswith("Estimated") for line in render_lines(state()))
