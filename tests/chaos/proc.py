"""`python -m consumer` as a child process, and a thread that keeps scraping its /metrics.

`ConsumerProc` is an `infra.consumer_child.ConsumerChild` (its own free metrics port on
127.0.0.1, its output appended to a log file, stopped by pid) that dies with the harness and
notes when it exited. `MetricsWatch` scrapes every live process every `interval` seconds: a
failure counts only while the process is expected to serve (after its first successful scrape,
before we stop or kill it), so a killed process is not a metrics failure, but a process that
stops answering while it waits for a broker is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from common.prometheus_text import Scrape
from infra.consumer_child import ConsumerChild
from tests.chaos.reaper import die_with_parent

log = logging.getLogger(__name__)


class ConsumerProc(ConsumerChild):
    """A chaos consumer: ``args`` as flags, ``env`` on top of the environment (``CONSUMER_FAULT``
    for a targeted kill); it dies with the harness (``die_with_parent``). ``slot``: the place
    it fills (its replica id): a restart fills the same slot."""

    def __init__(self, name: str, args: Sequence[str], log_path: Path,
                 env: dict[str, str] | None = None, *, slot: int = 1) -> None:
        self.env_extra = env or {}
        self.slot = slot
        super().__init__(name, log_file=log_path, flags=args, extra_env=self.env_extra,
                         banner=f"{name} {self.env_extra}", preexec_fn=die_with_parent)
        self.expect_up = False  # set by the first good scrape, cleared before a stop/kill
        self.served = False
        self.stopping = False
        self.exited_at: float | None = None

    @property
    def log_path(self) -> Path:
        return self.log_file

    def start(self) -> ConsumerProc:  # type: ignore[override]  # chains: .start() returns it
        super().start()
        return self

    @property
    def alive(self) -> bool:
        return self.is_running

    def poll(self) -> int | None:
        code = super().poll()
        if code is not None:
            if self.exited_at is None:
                self.exited_at = time.monotonic()
            self.expect_up = False
        return code

    def rss(self) -> int | None:
        pid = self.pid  # read once: None once it exited
        try:
            return psutil.Process(pid).memory_info().rss if pid is not None and self.alive \
                else None
        except psutil.Error:
            return None

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM (finish the batch, commit, leave the group); SIGKILL after `timeout`."""
        self.stopping, self.expect_up = True, False
        self.stop(timeout)
        return self._code()

    def kill(self) -> int:  # type: ignore[override]  # returns the exit code
        self.stopping, self.expect_up = True, False
        super().kill()
        return self._code()

    def wait(self, timeout: float | None = None) -> int:
        super().wait(timeout)
        return self._code()

    def _code(self) -> int:
        if self.exited_at is None:
            self.exited_at = time.monotonic()
        code = self.returncode
        assert code is not None, f"{self.name} was never started"
        return code


EXIT_GRACE = 10.0  # a failed scrape this close to the process's exit is its shutdown


class MetricsWatch(threading.Thread):
    """Scrape every registered process's /metrics; count failures while it should serve.

    A process that exits on its own (an error) stops its HTTP server first: a failed scrape
    within `EXIT_GRACE` s before its exit is part of that shutdown, not a serving failure."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(name="metrics-watch", daemon=True)
        self.interval = interval
        self.procs: list[ConsumerProc] = []
        self.polls = 0
        self._failed: list[tuple[ConsumerProc, float, str]] = []
        self.last: dict[str, Scrape] = {}
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def add(self, proc: ConsumerProc) -> ConsumerProc:
        with self._lock:
            self.procs.append(proc)
        return proc

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            with self._lock:
                procs = [p for p in self.procs if p.poll() is None]
            for proc in procs:
                self._scrape(proc)

    def _scrape(self, proc: ConsumerProc) -> None:
        try:
            scrape = proc.scrape()
        except (OSError, ValueError) as exc:
            if proc.expect_up and proc.poll() is None:
                self.polls += 1
                self._failed.append((proc, time.monotonic(), f"{proc.name}: {exc}"))
            return
        if not proc.served and not proc.stopping:
            proc.served = proc.expect_up = True
        self.polls += 1
        self.last[proc.name] = scrape

    def _counted(self) -> list[str]:
        return [note for proc, when, note in self._failed
                if proc.exited_at is None or proc.exited_at - when > EXIT_GRACE]

    @property
    def failures(self) -> int:
        return len(self._counted())

    @property
    def failure_notes(self) -> list[str]:
        return self._counted()[:20]

    def record_failure(self, proc: ConsumerProc, note: str) -> None:
        self.polls += 1
        self._failed.append((proc, time.monotonic(), note))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)
