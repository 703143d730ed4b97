"""`python -m consumer` as a child process, and a thread that keeps scraping its /metrics.

Each `ConsumerProc` gets its own free metrics port on 127.0.0.1 and appends its stderr to a log
file. `MetricsWatch` scrapes every live process every `interval` seconds: a failure counts only
while the process is expected to serve (after its first successful scrape, before we stop or
kill it), so a killed process is not a metrics failure, but a process that stops answering
while it waits for a broker is.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import psutil

from infra.kafka import free_ports
from tests.chaos.reaper import die_with_parent

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]


class ConsumerProc:
    def __init__(self, name: str, args: Sequence[str], log_path: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        (self.metrics_port,) = free_ports(1)
        self.args = [*args, "--metrics-port", str(self.metrics_port),
                     "--metrics-addr", "127.0.0.1"]
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.expect_up = False  # set by the first good scrape, cleared before a stop/kill
        self.served = False
        self.stopping = False
        self.started_at = 0.0
        self.exited_at: float | None = None
        self.returncode: int | None = None

    def start(self) -> ConsumerProc:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSUMER_")}
        env.update({"LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **self.env})
        with self.log_path.open("ab") as out:
            out.write(f"---- {self.name} {time.strftime('%T')} {self.env} ----\n".encode())
            out.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "consumer", *self.args],
                                         cwd=REPO, env=env, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL,
                                         preexec_fn=die_with_parent)
        self.started_at = time.monotonic()
        log.info("started %s pid %d (metrics :%d)", self.name, self.proc.pid, self.metrics_port)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def poll(self) -> int | None:
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is not None:
            if self.exited_at is None:
                self.exited_at = time.monotonic()
            self.returncode = code
            self.expect_up = False
        return code

    def rss(self) -> int | None:
        try:
            return psutil.Process(self.pid).memory_info().rss if self.alive else None
        except psutil.Error:
            return None

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM (finish the batch, commit, leave the group); SIGKILL after `timeout`."""
        self.stopping, self.expect_up = True, False
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("%s ignored SIGTERM for %.0f s: killing it", self.name, timeout)
                self.proc.kill()
                self.proc.wait()
        return self._code()

    def kill(self) -> int:
        self.stopping, self.expect_up = True, False
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()
        return self._code()

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        self.proc.wait(timeout)
        return self._code()

    def _code(self) -> int:
        assert self.proc is not None
        self.returncode = self.proc.returncode
        if self.exited_at is None:
            self.exited_at = time.monotonic()
        return int(self.returncode)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def scrape(self, path: str = "/metrics", timeout: float = 3.0) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return resp.read().decode()


def sample_value(body: str, name: str) -> float | None:
    """The value of an unlabelled sample in a Prometheus text exposition."""
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


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
        self.last: dict[str, str] = {}
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
            body = proc.scrape()
        except (OSError, urllib.error.URLError) as exc:
            if proc.expect_up and proc.poll() is None:
                self.polls += 1
                self._failed.append((proc, time.monotonic(), f"{proc.name}: {exc}"))
            return
        if not proc.served and not proc.stopping:
            proc.served = proc.expect_up = True
        self.polls += 1
        self.last[proc.name] = body

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
