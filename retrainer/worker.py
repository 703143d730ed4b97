"""`TrainingWorker`: one training at a time, in its own thread, off the consume loop.

The thread trains (`retrainer.training.train_candidate`), registers the candidate with both
held-out scores in its registration record, and loads it back verified; the loop collects the
outcome with `results()` and decides what to do with it (challenger or not). The registry does
the file work atomically, so a process killed mid-training leaves at most a `.tmp-` directory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from model.artifact import ModelArtifact
from model.registry import ModelRegistry
from retrainer.training import TrainingPolicy, TrainingResult, train_candidate
from retrainer.triggers import Trigger
from retrainer.window import LabelledRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingDone:
    trigger: Trigger
    version: str
    result: TrainingResult
    artifact: ModelArtifact
    seconds: float


@dataclass(frozen=True)
class TrainingFailed:
    trigger: Trigger
    error: str
    seconds: float


class TrainingWorker:
    """Runs `start(...)` in a daemon thread; at most one at a time."""

    def __init__(self, registry: ModelRegistry, policy: TrainingPolicy) -> None:
        self.registry = registry
        self.policy = policy
        self._done: queue.Queue[TrainingDone | TrainingFailed] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(
        self, trigger: Trigger, rows: list[LabelledRow], champion: ModelArtifact,
        champion_version: str,
    ) -> None:
        if self.busy:
            raise RuntimeError("a training is already running")
        self._thread = threading.Thread(
            target=self._train, args=(trigger, rows, champion, champion_version),
            name="retrainer-training", daemon=True,
        )
        self._thread.start()

    def results(self) -> list[TrainingDone | TrainingFailed]:
        """Outcomes finished since the last call."""
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _train(
        self, trigger: Trigger, rows: list[LabelledRow], champion: ModelArtifact,
        champion_version: str,
    ) -> None:
        started = time.perf_counter()
        try:
            result = train_candidate(rows, champion, self.policy)
            version = self.registry.register(
                result.candidate.save, source="retrain", reason=f"{trigger.kind}: "
                f"{trigger.reason}", parent=champion_version, scores=result.scores(),
            )
            artifact = self.registry.load(version)
        except Exception as exc:  # any failure is an outcome, never a dead thread
            log.exception("training failed (%s)", trigger.reason)
            self._done.put(TrainingFailed(trigger, f"{type(exc).__name__}: {exc}",
                                          time.perf_counter() - started))
            return
        self._done.put(TrainingDone(trigger, version, result, artifact,
                                    time.perf_counter() - started))
