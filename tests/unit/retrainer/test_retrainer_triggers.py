"""Triggers from drift reports, and the gate that keeps trainings apart."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from common.contracts.drift_reports import TRANSITION_FIELDS
from retrainer.triggers import InvalidReport, TrainingGate, Trigger, drift_triggers

NOW_MS = 1_800_000_000_000


def report(*transitions: dict[str, Any]) -> bytes:
    return orjson.dumps({"evaluated_at": NOW_MS, "model_version": "hgb-abc", "instance": "c-1",
                         "transitions": list(transitions)})


def transition(flag: str, kind: str = "drift_started", age_ms: int = 0) -> dict[str, Any]:
    found = {"flag": flag, "kind": kind, "statistic": 9.5, "detector": "page_hinkley",
             "event": 1200, "time": NOW_MS - age_ms}
    assert tuple(found) == TRANSITION_FIELDS  # the contract's fields
    return found


def parse(value: bytes | None) -> list[Trigger] | InvalidReport:
    return drift_triggers(value, now_ms=NOW_MS, max_age_ms=60_000)


def test_concept_and_estimated_performance_starts_are_triggers() -> None:
    found = parse(report(transition("concept"), transition("estimated_performance")))
    assert isinstance(found, list)
    assert [t.kind for t in found] == ["drift", "drift"]
    assert found[0].reason.startswith("concept drift_started on c-1 (model hgb-abc")


@pytest.mark.parametrize("ignored", [
    transition("concept", kind="drift_ended"), transition("carat"), transition("dataset"),
    transition("prediction"), transition("concept", age_ms=60_001),
])
def test_other_transitions_and_old_ones_are_not_triggers(ignored: dict[str, Any]) -> None:
    assert parse(report(ignored)) == []


def test_a_report_without_transitions_is_no_trigger() -> None:
    assert parse(report()) == []


@pytest.mark.parametrize("value", [None, b"{", b"[]", b'{"transitions": 3}',
                                   b'{"transitions": [7]}'])
def test_invalid_reports_say_why(value: bytes | None) -> None:
    assert isinstance(parse(value), InvalidReport)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_gate_waits_for_rows_then_starts_then_waits_for_the_gap() -> None:
    clock = Clock()
    gate = TrainingGate(min_rows=100, min_gap_s=60, clock=clock)
    assert gate.poll(rows=0, training=False, challenger=False) is None
    first = Trigger("drift", "concept")
    gate.offer(first)
    assert gate.poll(rows=99, training=False, challenger=False) == ("not_enough_rows", first)
    assert gate.poll(rows=100, training=False, challenger=False) == ("start", first)
    assert gate.waiting is None
    second = Trigger.on_demand()
    gate.offer(second)
    clock.now += 59
    assert gate.poll(rows=500, training=False, challenger=False) == ("too_soon", second)
    clock.now += 1
    assert gate.poll(rows=500, training=False, challenger=False) == ("start", second)


@pytest.mark.parametrize(("training", "challenger", "decision"),
                         [(True, False, "busy"), (False, True, "challenger")])
def test_gate_drops_a_trigger_while_training_or_comparing(
    training: bool, challenger: bool, decision: str,
) -> None:
    gate = TrainingGate(min_rows=1, min_gap_s=0)
    trigger = Trigger("drift", "x")
    gate.offer(trigger)
    assert gate.poll(rows=5, training=training, challenger=challenger) == (decision, trigger)
    assert gate.waiting is None


def test_the_schedule_fires_once_per_interval_and_is_off_at_zero() -> None:
    clock = Clock()
    assert TrainingGate(min_rows=1, min_gap_s=0, clock=clock).scheduled() is None
    gate = TrainingGate(min_rows=1, min_gap_s=0, interval_s=100, clock=clock)
    clock.now += 99
    assert gate.scheduled() is None
    clock.now += 1
    scheduled = gate.scheduled()
    assert scheduled is not None and scheduled.kind == "schedule"
    assert gate.scheduled() is None


def test_bad_gate_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="min_rows"):
        TrainingGate(min_rows=0, min_gap_s=0)
    with pytest.raises(ValueError, match="min_gap_s"):
        TrainingGate(min_rows=1, min_gap_s=-1)
