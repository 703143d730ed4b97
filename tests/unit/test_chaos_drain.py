"""The chaos harness's drain waits for the input's end itself, however the commits interleave
with its reads of the committed total (it used to wait out its whole timeout when one landed
between two reads)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.chaos.runner import Run


class CommitsLanding:
    """A group whose committed total moves by `step` at every read, up to `end`."""

    def __init__(self, start: int, end: int, step: int) -> None:
        self.total, self.end, self.step = start, end, step
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        now = self.total
        self.total = min(self.end, self.total + self.step)
        return now


def draining_run(committed: CommitsLanding, end: int) -> Any:
    run = object.__new__(Run)  # only what the drain touches: no broker, no process
    run.scenario, run.guarantee, run.input = "drain", "exactly-once", "in"
    run.producer = SimpleNamespace(wait=lambda timeout: None)
    run.cluster = SimpleNamespace(end_offsets=lambda topic: {0: end // 2, 1: end - end // 2})
    run.committed_total = committed
    run.supervised = lambda proc: proc
    return run


def test_the_drain_ends_at_the_input_end_when_commits_land_between_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tests.chaos.runner.time.sleep", lambda s: None)
    committed = CommitsLanding(start=900, end=1_000, step=50)
    proc = object()
    assert draining_run(committed, 1_000).supervised_drain(proc, timeout=5) is proc
    assert committed.total == 1_000


def test_the_drain_still_times_out_when_the_end_is_never_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tests.chaos.runner.time.sleep", lambda s: None)
    committed = CommitsLanding(start=900, end=990, step=50)
    with pytest.raises(TimeoutError, match="no progress"):
        draining_run(committed, 1_000).supervised_drain(object(), timeout=0.05)
