"""`python -m consumer` as a subprocess (an `infra.consumer_child.ConsumerChild`): startup time,
peak memory, end-to-end latency.

* startup: from `Popen` to the first HTTP 200 of `/readyz` (model loaded, subscribed, first poll
  done).
* peak RSS: the kernel's high-water mark of the child's resident set, `VmHWM` in
  /proc/<pid>/status, read every 50 ms until it exits (it only grows, so a read misses at most
  the last 50 ms). Not `ru_maxrss` from wait4: Linux folds the *parent's* high-water mark into it
  at exec (the child starts as a copy of the bench process), which overstates it. psutil's RSS,
  sampled at the same time, is kept as a cross-check.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from bench.exceptions import CaseError
from infra.consumer_child import ConsumerChild
from infra.process import ChildProcess, InfraError

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def child_env(**extra: str) -> dict[str, str]:
    """Our environment without CONSUMER_*/PRODUCER_* variables (the flags decide)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONSUMER_", "PRODUCER_"))}
    env.update({"PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO", **extra})
    return env


class ConsumerProcess(ConsumerChild):
    """One `python -m consumer` child with its metrics port, log file and memory watch."""

    def __init__(self, args: list[str], log_file: Path) -> None:
        super().__init__("consumer", log_file=log_file, flags=args)
        self.startup_s: float | None = None
        self.max_rss_mb: float | None = None
        self.sampled_rss_mb = 0.0
        self._sampler: threading.Thread | None = None

    def start(self) -> ConsumerProcess:  # type: ignore[override]  # chains: .start() returns it
        super().start()
        self._sampler = threading.Thread(target=self._sample, args=(self._require_pid(),),
                                         daemon=True)
        self._sampler.start()
        return self

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from the start to the first 200 of /readyz (measured once)."""
        if self.startup_s is None:
            try:
                self.startup_s = super().wait_ready(timeout)
            except InfraError as exc:
                raise CaseError(f"consumer: {exc}") from exc
        return self.startup_s

    def wait_assigned(self, timeout: float = 60.0) -> None:
        """Until the log shows a partition assignment (the group is formed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(r"assigned \S+\[\d+\]", self.log_text()):
                return
            time.sleep(0.05)
        raise CaseError(f"consumer got no partitions in {timeout:.0f} s: {self.tail()}")

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (unless it already exited), SIGKILL after `timeout`; the exit code."""
        code = super().stop(timeout)
        self._join_sampler()
        return code

    def wait(self, timeout: float | None = 600.0) -> int:
        """Wait for the exit (SIGKILL after `timeout`); the memory samples stop with it."""
        try:
            code = super().wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.returncode if self.returncode is not None else -9
        self._join_sampler()
        return code

    def tail(self, lines: int = 15) -> str:
        return self.log_tail(lines)

    def _require_pid(self) -> int:
        if self.pid is None:
            raise CaseError("consumer not started")
        return self.pid

    def _join_sampler(self) -> None:
        if self._sampler is not None:
            self._sampler.join(timeout=2)

    def _sample(self, pid: int) -> None:
        status = Path(f"/proc/{pid}/status")
        try:
            process = psutil.Process(pid)
            while self.poll() is None and self.pid == pid:
                match = _HWM.search(status.read_text())
                if match:
                    self.max_rss_mb = int(match.group(1)) / 1024
                self.sampled_rss_mb = max(self.sampled_rss_mb, process.memory_info().rss / 2**20)
                time.sleep(0.05)
        except (OSError, psutil.Error):  # it exited between two reads
            pass


class EchoProcess(ChildProcess):
    """`python -m bench.echo` (the bare client, the latency floor) with a consumer's flags.
    It serves no metrics: ready when its log says it got partitions; no startup time nor
    memory is measured (the attributes are None, as for a consumer before its first reading)."""

    startup_s: float | None = None
    max_rss_mb: float | None = None
    sampled_rss_mb = 0.0

    def __init__(self, args: list[str], log_file: Path) -> None:
        super().__init__("echo", [sys.executable, "-m", "bench.echo", *args],
                         log_file=log_file, cwd=REPO, env=child_env())

    def start(self) -> EchoProcess:  # type: ignore[override]  # chains like ConsumerProcess
        super().start()
        return self

    def wait_ready(self, timeout: float = 120.0) -> float:
        started = time.monotonic()
        while "echo assigned " not in self.log_text():
            if self.poll() is not None:
                raise CaseError(f"echo exited with {self.returncode}: {self.log_tail()}")
            if time.monotonic() - started > timeout:
                raise CaseError(f"echo got no partitions in {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.05)
        return time.monotonic() - started

    def wait_assigned(self, timeout: float = 60.0) -> None:
        """`wait_ready` waited for the assignment already."""

    def tail(self, lines: int = 15) -> str:
        return self.log_tail(lines)


def stop_all(procs: Sequence[ConsumerProcess]) -> list[int | None]:
    """Stop every process at once (SIGTERM to all, then wait): one shutdown's time instead of
    one after another, each leave rebalancing the ones still running. Exit codes in order."""
    if not procs:
        return []
    with ThreadPoolExecutor(max_workers=len(procs)) as pool:
        return list(pool.map(lambda proc: proc.stop(), procs))


_HWM = re.compile(r"^VmHWM:\s+(\d+) kB", re.M)


def consumer_args(bootstrap_servers: str, input_topic: str, output_topic: str, dlq_topic: str,
                  group_id: str, model_path: Path, extra: list[str]) -> list[str]:
    return [
        "--bootstrap-servers", bootstrap_servers, "--input-topic", input_topic,
        "--output-topic", output_topic, "--dlq-topic", dlq_topic, "--group-id", group_id,
        "--model-path", str(model_path), *extra,
    ]
