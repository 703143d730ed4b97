"""When did each drift get flagged? Pure functions over the consumer's drift-report records.

A record is the JSON the consumer publishes on the drift-reports topic at each evaluation:
``{"evaluated_at": epoch ms, "n_seen": ..., "data": DriftReport.to_dict(), "concept":
ConceptReport.to_dict() or None, ...}``. A phase starts at the event time of its first event
(`PhaseRun.onset_ms`) and lasts until the next phase starts.

Each drift kind is expected in one phase (`KINDS`): it is *detected* at the first evaluation
inside that phase that raises its flag, reported in seconds after the onset, in events the
consumer had seen since the onset and in labels joined since the onset (what concept drift is
judged on), with how many of the phase's evaluations raised it (a real shift stays flagged, a
chance flag shows up once). A flag raised during `baseline` is a false flag.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]
NOT_FLAGGED = "not flagged"


@dataclass(frozen=True)
class PhaseRun:
    """One phase as it ran: ``onset_ms`` is its first event's time (None: no event sent)."""

    name: str
    onset_ms: int | None
    events: int
    events_before: int
    labels: int = 0
    planned_seconds: float = 0.0
    exit_code: int | None = None


def feature_flags(record: Record) -> dict[str, bool]:
    features = (record.get("data") or {}).get("features") or {}
    return {name: bool(fd.get("drift_detected")) for name, fd in features.items()}


def _data_flag(record: Record, part: str) -> bool:
    section = (record.get("data") or {}).get(part) or {}
    return bool(section.get("drift_detected"))


def _concept_flag(record: Record) -> bool:
    return bool((record.get("concept") or {}).get("drift_detected"))


KINDS: dict[str, tuple[str, Callable[[Record], bool]]] = {
    "data_drift": ("data-drift", lambda r: any(feature_flags(r).values())),
    "dataset_drift": ("data-drift", lambda r: _data_flag(r, "dataset")),
    "prediction_drift": ("data-drift", lambda r: _data_flag(r, "prediction")),
    "concept_drift": ("concept-drift", _concept_flag),
}


def all_flags(record: Record) -> dict[str, bool]:
    """Every flag of a record: ``feature:<name>``, ``prediction``, ``dataset``, ``concept``."""
    flags = {f"feature:{name}": flag for name, flag in feature_flags(record).items()}
    flags["prediction"] = _data_flag(record, "prediction")
    flags["dataset"] = _data_flag(record, "dataset")
    flags["concept"] = _concept_flag(record)
    return flags


def sort_records(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: int(r.get("evaluated_at", 0)))


def phase_window(phases: Sequence[PhaseRun], name: str) -> tuple[PhaseRun, float] | None:
    """The phase called ``name`` and when it ends (the next onset, else +inf)."""
    started = [p for p in phases if p.onset_ms is not None]
    for i, phase in enumerate(started):
        if phase.name == name:
            end = started[i + 1].onset_ms if i + 1 < len(started) else None
            return phase, float("inf") if end is None else float(end)
    return None


def phase_at(phases: Sequence[PhaseRun], at_ms: int) -> PhaseRun | None:
    current = None
    for phase in phases:
        if phase.onset_ms is not None and phase.onset_ms <= at_ms:
            current = phase
    return current


def _matched(record: Record | None) -> int:
    return int(((record or {}).get("labels") or {}).get("matched", 0))


def _timing(record: Record, phase: PhaseRun, before: Record | None) -> dict[str, Any]:
    """How long after ``phase``'s onset ``record`` came; ``before`` is the last earlier record."""
    assert phase.onset_ms is not None
    n_seen = record.get("n_seen", (record.get("data") or {}).get("n_seen", 0))
    return {
        "phase": phase.name,
        "seconds_after_onset": round((int(record["evaluated_at"]) - phase.onset_ms) / 1000, 2),
        "events_after_onset": max(int(n_seen) - phase.events_before, 0),
        "labels_matched_after_onset": max(_matched(record) - _matched(before), 0),
    }


def first_flag(records: Sequence[Record], phases: Sequence[PhaseRun], phase_name: str,
               flagged: Callable[[Record], bool]) -> dict[str, Any] | str:
    """Timing of the first record inside ``phase_name`` with ``flagged``, or NOT_FLAGGED."""
    window = phase_window(phases, phase_name)
    if window is None:
        return NOT_FLAGGED
    phase, end = window
    assert phase.onset_ms is not None
    before: Record | None = None
    first: dict[str, Any] | None = None
    inside = raised = 0
    for record in sort_records(records):
        at = int(record["evaluated_at"])
        if at < phase.onset_ms:
            before = record
        elif at < end:
            inside += 1
            if flagged(record):
                raised += 1
                first = first or _timing(record, phase, before)
    if first is None:
        return NOT_FLAGGED
    # how steadily: a real shift stays flagged, a chance flag shows up once
    return {**first, "evaluations_flagged": raised, "evaluations_in_phase": inside}


def first_flags(records: Sequence[Record], phases: Sequence[PhaseRun]) -> dict[str, Any]:
    return {kind: first_flag(records, phases, phase, test)
            for kind, (phase, test) in KINDS.items()}


def feature_first_flags(records: Sequence[Record], phases: Sequence[PhaseRun],
                        phase_name: str = "data-drift") -> dict[str, Any]:
    def flagged(name: str) -> Callable[[Record], bool]:
        return lambda record: feature_flags(record).get(name, False)

    names = dict.fromkeys(n for r in records for n in feature_flags(r))
    return {name: first_flag(records, phases, phase_name, flagged(name)) for name in names}


def false_flags(records: Sequence[Record], phases: Sequence[PhaseRun],
                phase_name: str = "baseline") -> dict[str, Any]:
    """How many evaluations inside ``phase_name`` raised each flag (all should be 0)."""
    window = phase_window(phases, phase_name)
    counts: dict[str, int] = {}
    evaluations = flagged_evaluations = 0
    if window is not None:
        phase, end = window
        assert phase.onset_ms is not None
        for record in records:
            if not phase.onset_ms <= int(record["evaluated_at"]) < end:
                continue
            evaluations += 1
            raised = [name for name, flag in all_flags(record).items() if flag]
            flagged_evaluations += bool(raised)
            for name in raised:
                counts[name] = counts.get(name, 0) + 1
    return {"evaluations": evaluations, "evaluations_with_a_flag": flagged_evaluations,
            "flags": counts}


def flag_rises(records: Sequence[Record], phases: Sequence[PhaseRun],
               started_ms: int) -> list[dict[str, Any]]:
    """Every time a flag went from off to on: when, in which phase, how long after its onset."""
    rises: list[dict[str, Any]] = []
    previous: dict[str, bool] = {}
    for record in sort_records(records):
        at = int(record["evaluated_at"])
        phase = phase_at(phases, at)
        for name, flag in all_flags(record).items():
            if flag and not previous.get(name, False):
                rises.append({
                    "flag": name, "seconds_since_start": round((at - started_ms) / 1000, 2),
                    "phase": phase.name if phase else "setup",
                    "seconds_after_onset": (round((at - phase.onset_ms) / 1000, 2)
                                            if phase and phase.onset_ms is not None else None),
                })
            previous[name] = flag
    return rises


def build_summary(*, records: Sequence[Record], phases: Sequence[PhaseRun],
                  **facts: Any) -> dict[str, Any]:
    """The summary document: the given facts plus the drift timings computed here."""
    return {
        **facts,
        "phases": [asdict(p) for p in phases],
        "events_produced": sum(p.events for p in phases),
        "drift_reports": len(records),
        "first_flagged": first_flags(records, phases),
        "feature_first_flagged": feature_first_flags(records, phases),
        "false_flags_baseline": false_flags(records, phases),
    }


def write_summary(summary: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return path
