"""What starts a training, and the gate that keeps trainings apart. Pure: no Kafka, no threads.

Triggers: a ``drift_started`` transition of the ``concept`` or ``estimated_performance`` flag
in a drift report (`common.contracts.drift_reports`; `drift_triggers`), the schedule
(`TrainingGate.scheduled`) and a request by hand (SIGUSR1, `Trigger.on_demand`).

`TrainingGate` holds at most one waiting trigger (the newest wins) and says when it may start:

================  ==========================================================================
decision          when
================  ==========================================================================
start             not training, no challenger under evaluation, enough rows, gap elapsed
busy              a training is running: it answers this trigger too (dropped)
challenger        a challenger is still being compared on live labels (dropped)
not_enough_rows   fewer than `min_rows` labelled rows: kept, retried as rows arrive
too_soon          less than `min_gap_s` since the last training started: kept, retried
================  ==========================================================================
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

TRIGGER_FLAGS: tuple[str, ...] = ("concept", "estimated_performance")
TRIGGER_KINDS: tuple[str, ...] = ("drift", "schedule", "on_demand")
GATE_DECISIONS: tuple[str, ...] = ("start", "busy", "challenger", "not_enough_rows", "too_soon")
DROPPING = frozenset({"busy", "challenger"})


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str  # one of TRIGGER_KINDS
    reason: str

    @classmethod
    def on_demand(cls, why: str = "requested by hand") -> Trigger:
        return cls("on_demand", why)


@dataclass(frozen=True, slots=True)
class InvalidReport:
    error: str


def drift_triggers(
    value: bytes | None, *, now_ms: int, max_age_ms: int
) -> list[Trigger] | InvalidReport:
    """The triggers in one drift-report record: its ``drift_started`` transitions of a
    `TRIGGER_FLAGS` flag no older than `max_age_ms` (an old report replayed is no alarm)."""
    if value is None:
        return InvalidReport("empty value (a tombstone): expected a drift report")
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return InvalidReport(f"not valid JSON: {exc}")
    if not isinstance(record, dict) or not isinstance(record.get("transitions"), list):
        return InvalidReport("a drift report must be an object with a transitions list")
    found = []
    for transition in record["transitions"]:
        if not isinstance(transition, dict):
            return InvalidReport(f"a transition must be an object, got {transition!r:.80}")
        if transition.get("kind") != "drift_started" or transition.get("flag") not in TRIGGER_FLAGS:
            continue
        at = transition.get("time")
        if isinstance(at, bool) or not isinstance(at, int) or now_ms - at > max_age_ms:
            continue
        found.append(Trigger("drift", _describe(record, transition)))
    return found


def _describe(record: dict[str, Any], transition: dict[str, Any]) -> str:
    return (f"{transition['flag']} drift_started on {record.get('instance', '?')} "
            f"(model {record.get('model_version', '?')}, statistic "
            f"{transition.get('statistic')}, detector {transition.get('detector')})")


class TrainingGate:
    """Debounce: one waiting trigger, at most one training, a gap, a minimum of rows."""

    def __init__(
        self, *, min_rows: int, min_gap_s: float, interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_rows < 1:
            raise ValueError(f"min_rows must be >= 1, got {min_rows}")
        if min_gap_s < 0 or interval_s < 0:
            raise ValueError(
                f"min_gap_s and interval_s must be >= 0, got {min_gap_s} and {interval_s}"
            )
        self.min_rows = min_rows
        self.min_gap_s = min_gap_s
        self.interval_s = interval_s
        self.waiting: Trigger | None = None
        self._clock = clock
        self._last_start: float | None = None
        self._schedule_from = clock()

    def offer(self, trigger: Trigger) -> None:
        """A trigger arrived: it waits (replacing an older one) until `poll` starts it."""
        self.waiting = trigger

    def scheduled(self) -> Trigger | None:
        """The schedule's trigger when `interval_s` passed since the last start (0: off)."""
        if not self.interval_s:
            return None
        since = self._clock() - (self._last_start or self._schedule_from)
        if since < self.interval_s:
            return None
        self._schedule_from = self._clock()  # one scheduled trigger per interval
        return Trigger("schedule", f"every {self.interval_s:g} s")

    def poll(self, *, rows: int, training: bool, challenger: bool) -> tuple[str, Trigger] | None:
        """The waiting trigger's decision (`GATE_DECISIONS`) and the trigger, or None when
        nothing waits. `start` and the dropping decisions take it off the waiting slot."""
        trigger = self.waiting
        if trigger is None:
            return None
        if training:
            decision = "busy"
        elif challenger:
            decision = "challenger"
        elif rows < self.min_rows:
            decision = "not_enough_rows"
        elif self._last_start is not None and self._clock() - self._last_start < self.min_gap_s:
            decision = "too_soon"
        else:
            decision = "start"
            self._last_start = self._clock()
        if decision == "start" or decision in DROPPING:
            self.waiting = None
        return decision, trigger
