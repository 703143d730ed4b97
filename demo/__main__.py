"""`python -m demo [--seconds 120] [--rate 1000] [...]`: the scripted end-to-end demo.

Exit codes: 0 when every part worked, 1 when one failed (a process died, nothing was flagged
because no drift report was published, a setup step failed), 2 on invalid settings, 130 when
interrupted (Ctrl-C / SIGTERM; every started process is stopped either way).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from confluent_kafka import KafkaException
from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError

from demo.closing import closing_act
from demo.exceptions import DemoError, Interrupted
from demo.report import render_html, render_png
from demo.services import ensure_model
from demo.settings import DemoSettings
from demo.story import Story, StoryResult
from demo.summary import NOT_FLAGGED, build_summary, flag_changes, write_summary
from infra.kafka import BrokerError
from infra.prometheus import PrometheusError

log = logging.getLogger("demo")


def configure_logging(log_file: Path) -> None:
    """Everything to ``log_file``; only warnings to stderr (the live view owns the screen)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, mode="w")
    to_file.setLevel(logging.INFO)
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.WARNING)
    # librdkafka's retries (e.g. "coordinator load in progress" on a fresh broker) are routine
    to_stderr.addFilter(lambda record: not record.name.startswith("demo.librdkafka"))
    logging.basicConfig(level=logging.INFO, handlers=[to_file, to_stderr],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _on_sigterm(signum: int, _: FrameType | None) -> None:
    raise Interrupted(f"{signal.Signals(signum).name} received")


def _timing(value: Any) -> str:
    if not isinstance(value, dict):
        return NOT_FLAGGED
    labels = value.get("labels_matched_after_onset") or 0
    return (f"{value['seconds_after_onset']:.1f} s / {value['events_after_onset']:,} events "
            + (f"/ {labels:,} labels " if labels else "") + f"after the {value['phase']} onset"
            f" ({value['flag']})")


def print_summary(summary: dict[str, Any], out: Any) -> None:
    print("\nSummary", file=out)
    for phase in summary["phases"]:
        print(f"  {phase['name']:<14} {phase['events']:>9,} events  {phase['labels']:>7,} labels",
              file=out)
    print(f"  predictions {summary['predictions']}, DLQ {summary['dlq']}, final lag "
          f"{summary['final_lag']}, drift evaluations {summary['drift_reports']}", file=out)
    for kind, value in summary["first_flagged"].items():
        print(f"  {kind:<17} {_timing(value)}", file=out)
    for name, flags in summary["phase_flags"].items():
        raised = ", ".join(f["flag"] for f in flags["raised"]) or "none"
        cleared = ", ".join(f["flag"] for f in flags["cleared"]) or "none"
        print(f"  {name:<17} raised: {raised}; cleared: {cleared}", file=out)
    act = summary.get("retraining")
    if act is not None:
        print("  the closing act: alarm {} s -> candidate {} s -> promotion {} s -> swap {} s "
              "(since the start)".format(act["alarm_s"], act["candidate_s"], act["promotion_s"],
                                         act["swap_s"]), file=out)
        if act["complete"]:
            before, after = act["mae_before"], act["mae_after"]
            print(f"  realized MAE: {before['mae']} before the swap ({before['mae_ratio']}x "
                  f"{act['model_before']}'s held-out MAE, {before['labels']:,} labels), "
                  f"{after['mae']} after ({after['mae_ratio']}x {act['model_after']}'s, "
                  f"{after['labels']:,} labels); concept flag at the end: "
                  f"{'raised' if act['concept_flag_at_end'] else 'clear'}", file=out)
    false = summary["false_flags"]
    print(f"  false flags: {false['count']} {false['flags'] or ''}; still raised at the end: "
          f"{', '.join(summary['flags_up_at_end']) or 'none'}", file=out)
    for failure in summary["failures"]:
        print(f"  FAILED: {failure}", file=out)


def report(story: Story, result: StoryResult) -> dict[str, Any]:
    s = story.settings
    out_dir = s.output_dir
    paths = {"summary": out_dir / "summary.json", "png": out_dir / "drift_report.png",
             "html": out_dir / "drift_report.html",
             "reports": out_dir / "drift_reports.jsonl", "logs": s.logs_dir}
    paths["reports"].write_text("".join(json.dumps(r) + "\n" for r in result.records))
    summary = build_summary(records=result.records, phases=result.phases, **story.facts(),
                            outputs={k: str(v) for k, v in paths.items()})
    swap_s = None
    if s.retrain:
        act = closing_act(result.records, result.announcements, result.started_ms)
        summary["retraining"] = act
        swap_s = act.get("swap_s")
        if not act["complete"]:
            summary["failures"].append(
                "the closing act did not complete (alarm, candidate, promotion, swap: "
                f"{act['alarm_s']}, {act['candidate_s']}, {act['promotion_s']}, "
                f"{act['swap_s']} s; logs: {s.logs_dir / 'retrainer.log'})")
            summary["ok"] = False
    changes = flag_changes(result.records, result.phases, result.started_ms)
    summary["flag_changes"] = changes
    try:
        render_png(result.records, result.phases, result.started_ms, paths["png"],
                   swap_s=swap_s)
        render_html(paths["png"], paths["html"], summary=summary, changes=changes)
    except (OSError, ValueError) as exc:
        summary["failures"].append(f"rendering the drift report failed: {exc}")
        summary["ok"] = False
    write_summary(summary, paths["summary"])
    return summary


def main(argv: list[str] | None = None) -> int:
    try:
        settings = CliApp.run(DemoSettings, cli_args=sys.argv[1:] if argv is None else argv)
    except (ValidationError, SettingsError) as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.logs_dir / "demo.log")
    signal.signal(signal.SIGTERM, _on_sigterm)
    story = Story(settings, sys.stdout)
    try:
        ensure_model(settings.model_path, story.say)
        result = story.run()
        if result.interrupted:
            raise Interrupted("interrupted during the story")
        summary = report(story, result)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: everything the demo started is stopped", file=sys.stderr)
        return 130
    except (DemoError, BrokerError, PrometheusError, KafkaException) as exc:
        print(f"error: {exc}\n(logs: {settings.logs_dir})", file=sys.stderr)
        return 1
    print_summary(summary, sys.stdout)
    print(f"\nOutputs in {settings.output_dir}:", file=sys.stdout)
    for name, path in summary["outputs"].items():
        print(f"  {name:<8} {path}", file=sys.stdout)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
