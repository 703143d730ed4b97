"""When was each drift flag raised and cleared? Pure functions over the drift-report records.

A record is the JSON the consumer publishes on the drift-reports topic
(`common.contracts.drift_reports`): every flag's state, and the transitions since the previous
report (``drift_started`` / ``drift_ended``, with the flag, the event index and the time its
batch went through the detectors). A phase starts at the event time of its first event
(`PhaseRun.onset_ms`) and lasts until the next phase starts; a transition belongs to the phase
its time falls in.

Each phase names the flags it is expected to raise (`PhaseRun.expected`: none for the baseline
phases); any other flag raised in it is a false flag. Each drift kind (`KINDS`) is *detected* at
its first ``drift_started`` inside the phase that causes it, reported in seconds after the
onset, in events the consumer had seen since the onset and in labels joined since the onset
(what concept drift is judged on).

Per phase, `phase_mae` sets the label-free estimated MAE (the reports' ``estimated``, weighted
by the events each covers) beside the realized MAE of the labels joined in it (the reports'
``concept`` MAE ratio times the held-out MAE, weighted by the labels each joined). Labels
arrive `label_delay` late, so a phase's first reports still join labels of the previous one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]
Transition = dict[str, Any]
NOT_FLAGGED = "not flagged"
STARTED, ENDED = "drift_started", "drift_ended"
ESTIMATED = "estimated_performance"
NON_FEATURE_FLAGS = ("prediction", "dataset", "concept", ESTIMATED)


@dataclass(frozen=True)
class PhaseRun:
    """One phase as it ran: ``onset_ms`` is its first event's time (None: no event sent);
    ``expected`` the flags it should raise (any other raised in it is a false flag)."""

    name: str
    onset_ms: int | None
    events: int
    events_before: int
    labels: int = 0
    planned_seconds: float = 0.0
    exit_code: int | None = None
    expected: tuple[str, ...] = ()


def is_feature(flag: str) -> bool:
    return flag not in NON_FEATURE_FLAGS


KINDS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "data_drift": ("data-drift", is_feature),
    "dataset_drift": ("data-drift", lambda flag: flag == "dataset"),
    "prediction_drift": ("data-drift", lambda flag: flag == "prediction"),
    "concept_drift": ("concept-drift", lambda flag: flag == "concept"),
    "estimated_performance": ("data-drift", lambda flag: flag == ESTIMATED),
}


def sort_records(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: int(r.get("evaluated_at", 0)))


def all_flags(record: Record) -> dict[str, bool]:
    """Every flag's state in a record: each feature by name, ``prediction``, ``dataset``,
    ``concept``."""
    data = record.get("data") or {}
    flags = {name: bool(state.get("drift_detected"))
             for name, state in (data.get("features") or {}).items()}
    for part in ("prediction", "dataset"):
        flags[part] = bool((data.get(part) or {}).get("drift_detected"))
    flags["concept"] = bool(((record.get("concept") or {}).get("flag") or {})
                            .get("drift_detected"))
    estimated = record.get("estimated")
    if estimated is not None:  # null: the model has no loss model
        flags[ESTIMATED] = bool((estimated.get("flag") or {}).get("drift_detected"))
    return flags


def _matched(record: Record | None) -> int:
    return int(((record or {}).get("labels") or {}).get("matched", 0))


def transitions(records: Sequence[Record]) -> list[Transition]:
    """Every transition once (a report re-read is not a second one), in time order, with the
    labels matched and the events seen as of its report."""
    seen: set[tuple[Any, ...]] = set()
    out: list[Transition] = []
    for record in sort_records(records):
        for t in record.get("transitions") or []:
            key = (record.get("instance"), t.get("flag"), t.get("kind"), t.get("event"))
            if key in seen:
                continue
            seen.add(key)
            time_ms = t.get("time")
            out.append({**t, "time": int(time_ms if time_ms is not None
                                         else record["evaluated_at"]),
                        "n_seen": int(record.get("n_seen", 0)), "matched": _matched(record)})
    return sorted(out, key=lambda t: t["time"])


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


def _matched_before(records: Sequence[Record], at_ms: int) -> int:
    before = [r for r in records if int(r["evaluated_at"]) < at_ms]
    return max((_matched(r) for r in before), default=0)


def first_flag(records: Sequence[Record], phases: Sequence[PhaseRun], phase_name: str,
               wanted: Callable[[str], bool]) -> dict[str, Any] | str:
    """Timing of the first ``drift_started`` of a `wanted` flag inside ``phase_name``."""
    window = phase_window(phases, phase_name)
    if window is None:
        return NOT_FLAGGED
    phase, end = window
    assert phase.onset_ms is not None
    for t in transitions(records):
        if t["kind"] == STARTED and wanted(t["flag"]) and phase.onset_ms <= t["time"] < end:
            concept = t["flag"] == "concept"
            # a data flag's event index counts scored events, the concept flag's joined labels
            labels = (t["event"] + 1 if concept else t["matched"]) - _matched_before(
                records, phase.onset_ms)
            return {
                "phase": phase.name, "flag": t["flag"],
                "seconds_after_onset": round((t["time"] - phase.onset_ms) / 1000, 2),
                "events_after_onset": max((t["n_seen"] if concept else t["event"] + 1)
                                          - phase.events_before, 0),
                "labels_matched_after_onset": max(labels, 0),
            }
    return NOT_FLAGGED


def first_flags(records: Sequence[Record], phases: Sequence[PhaseRun]) -> dict[str, Any]:
    return {kind: first_flag(records, phases, phase, wanted)
            for kind, (phase, wanted) in KINDS.items()}


def feature_first_flags(records: Sequence[Record], phases: Sequence[PhaseRun],
                        phase_name: str = "data-drift") -> dict[str, Any]:
    names = dict.fromkeys(n for r in records for n in all_flags(r) if is_feature(n))
    return {name: first_flag(records, phases, phase_name, _is(name)) for name in names}


def _is(name: str) -> Callable[[str], bool]:
    return lambda flag: flag == name


def phase_flags(records: Sequence[Record], phases: Sequence[PhaseRun]) -> dict[str, Any]:
    """Per phase, the flags raised and cleared in it (seconds after its onset), and the
    raised ones it does not expect (false flags)."""
    out: dict[str, Any] = {}
    changes = transitions(records)
    for phase in phases:
        window = phase_window(phases, phase.name)
        raised: list[dict[str, Any]] = []
        cleared: list[dict[str, Any]] = []
        if window is not None and phase.onset_ms is not None:
            _, end = window
            for t in changes:
                if phase.onset_ms <= t["time"] < end:
                    entry = {"flag": t["flag"],
                             "seconds_after_onset": round((t["time"] - phase.onset_ms) / 1000, 2)}
                    (raised if t["kind"] == STARTED else cleared).append(entry)
        out[phase.name] = {
            "expected": list(phase.expected), "raised": raised, "cleared": cleared,
            "false_flags": [r["flag"] for r in raised if r["flag"] not in phase.expected],
        }
    return out


def false_flags(records: Sequence[Record], phases: Sequence[PhaseRun]) -> dict[str, Any]:
    """Every flag raised in a phase that does not expect it (all should be 0)."""
    counts: dict[str, int] = {}
    for name, flags in phase_flags(records, phases).items():
        for flag in flags["false_flags"]:
            key = f"{name}:{flag}"
            counts[key] = counts.get(key, 0) + 1
    return {"count": sum(counts.values()), "flags": counts}


def flags_up_at_end(records: Sequence[Record]) -> list[str]:
    """The flags raised in the last report of each instance (a story that returns to normal
    data ends with none)."""
    last: dict[Any, Record] = {}
    for record in sort_records(records):
        last[record.get("instance")] = record
    return sorted({flag for r in last.values() for flag, up in all_flags(r).items() if up})


def flag_changes(records: Sequence[Record], phases: Sequence[PhaseRun],
                 started_ms: int) -> list[dict[str, Any]]:
    """Every flag raised or cleared: when, in which phase, how long after its onset."""
    out: list[dict[str, Any]] = []
    for t in transitions(records):
        phase = phase_at(phases, t["time"])
        out.append({
            "flag": t["flag"], "kind": t["kind"],
            "seconds_since_start": round((t["time"] - started_ms) / 1000, 2),
            "phase": phase.name if phase else "setup",
            "seconds_after_onset": (round((t["time"] - phase.onset_ms) / 1000, 2)
                                    if phase and phase.onset_ms is not None else None),
        })
    return out


def _ratio_mean(pairs: Sequence[tuple[Any, float]]) -> float | None:
    """Weighted mean of (value, weight) pairs with a positive weight and a finite value."""
    kept = [(v, w) for v, w in pairs if w > 0 and isinstance(v, int | float) and v == v]
    total = sum(w for _, w in kept)
    return None if not total else sum(v * w for v, w in kept) / total


def phase_mae(records: Sequence[Record], phases: Sequence[PhaseRun]) -> dict[str, Any]:
    """Per phase: the estimated MAE (no labels) and the realized MAE (labels joined), both
    also as ratios to the held-out MAE; None where a phase had no estimate or no label."""
    out: dict[str, Any] = {}
    matched: dict[Any, int] = {}
    reference: float | None = None
    timed = []
    for record in sort_records(records):
        instance = record.get("instance")
        now = _matched(record)
        joined, matched[instance] = max(now - matched.get(instance, 0), 0), now
        estimated = record.get("estimated") or {}
        mae, ratio = estimated.get("mae"), estimated.get("mae_ratio")
        if isinstance(mae, int | float) and isinstance(ratio, int | float) and ratio > 0:
            reference = mae / ratio  # the held-out MAE both ratios are over
        timed.append((int(record["evaluated_at"]), estimated, joined,
                      (record.get("concept") or {}).get("mae_ratio")))
    for phase in phases:
        window = phase_window(phases, phase.name)
        if window is None or phase.onset_ms is None:
            continue
        _, end = window
        inside = [t for t in timed if phase.onset_ms <= t[0] < end]
        estimated_ratio = _ratio_mean([(e.get("mae_ratio"), e.get("n_events") or 0)
                                       for _, e, _, _ in inside])
        realized_ratio = _ratio_mean([(r, j) for _, _, j, r in inside])

        def scaled(ratio: float | None) -> float | None:
            return None if ratio is None or reference is None else round(ratio * reference, 1)

        out[phase.name] = {
            "estimated_mae": scaled(estimated_ratio), "realized_mae": scaled(realized_ratio),
            "estimated_mae_ratio": None if estimated_ratio is None else round(estimated_ratio, 3),
            "realized_mae_ratio": None if realized_ratio is None else round(realized_ratio, 3),
            "labels_joined": sum(j for _, _, j, _ in inside),
        }
    return out


def build_summary(*, records: Sequence[Record], phases: Sequence[PhaseRun],
                  **facts: Any) -> dict[str, Any]:
    """The summary document: the given facts plus the drift timings computed here."""
    return {
        **facts,
        "phases": [{**asdict(p), "expected": list(p.expected)} for p in phases],
        "events_produced": sum(p.events for p in phases),
        "drift_reports": len(records),
        "first_flagged": first_flags(records, phases),
        "feature_first_flagged": feature_first_flags(records, phases),
        "phase_flags": phase_flags(records, phases),
        "estimated_vs_realized_mae": phase_mae(records, phases),
        "false_flags": false_flags(records, phases),
        "flags_up_at_end": flags_up_at_end(records),
    }


def write_summary(summary: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return path
