"""`python -m consumer` as a subprocess: startup time, peak memory, end-to-end latency.

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
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from bench.exceptions import CaseError
from infra.kafka import free_ports

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def child_env(**extra: str) -> dict[str, str]:
    """Our environment without CONSUMER_*/PRODUCER_* variables (the flags decide)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONSUMER_", "PRODUCER_"))}
    env.update({"PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO", **extra})
    return env


class ConsumerProcess:
    """One `python -m consumer` child with its metrics port, log file and memory watch."""

    def __init__(self, args: list[str], log_file: Path) -> None:
        self.port = free_ports(1)[0]
        self.args = [*args, "--metrics-port", str(self.port), "--metrics-addr", "127.0.0.1"]
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.startup_s: float | None = None
        self.max_rss_mb: float | None = None
        self.sampled_rss_mb = 0.0
        self.returncode: int | None = None
        self._sampler: threading.Thread | None = None

    def start(self) -> ConsumerProcess:
        with self.log_file.open("ab") as out:
            self.started = time.monotonic()
            self.proc = subprocess.Popen([sys.executable, "-m", "consumer", *self.args],
                                         cwd=REPO, env=child_env(), stdout=out, stderr=out)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from the start to the first 200 of /readyz (measured once)."""
        if self.startup_s is not None:
            return self.startup_s
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise CaseError(f"consumer exited with {self.proc.returncode} before ready: "
                                f"{self.tail()}")
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=1) as resp:  # noqa: S310
                    if resp.status == 200:
                        self.startup_s = time.monotonic() - self.started
                        return self.startup_s
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise CaseError(f"consumer not ready in {timeout:.0f} s: {self.tail()}")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as resp:  # noqa: S310
            return str(resp.read().decode())

    def wait_assigned(self, timeout: float = 60.0) -> None:
        """Until the log shows a partition assignment (the group is formed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(r"assigned \S+\[\d+\]", self._own_log()):
                return
            time.sleep(0.05)
        raise CaseError(f"consumer got no partitions in {timeout:.0f} s: {self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal (unless it already exited) and wait for the exit code."""
        if self.proc is None:
            raise CaseError("consumer not started")
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 600.0) -> int:
        """Wait for the exit (SIGKILL after `timeout`); the memory samples stop with it."""
        assert self.proc is not None
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        return self.returncode

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self._own_log().splitlines()[-lines:])

    def _own_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def _sample(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        try:
            process = psutil.Process(self.pid)
            while self.proc is not None and self.proc.poll() is None:
                match = _HWM.search(status.read_text())
                if match:
                    self.max_rss_mb = int(match.group(1)) / 1024
                self.sampled_rss_mb = max(self.sampled_rss_mb, process.memory_info().rss / 2**20)
                time.sleep(0.05)
        except (OSError, psutil.Error):  # it exited between two reads
            pass


_HWM = re.compile(r"^VmHWM:\s+(\d+) kB", re.M)


def consumer_args(bootstrap_servers: str, input_topic: str, output_topic: str, dlq_topic: str,
                  group_id: str, model_path: Path, extra: list[str]) -> list[str]:
    return [
        "--bootstrap-servers", bootstrap_servers, "--input-topic", input_topic,
        "--output-topic", output_topic, "--dlq-topic", dlq_topic, "--group-id", group_id,
        "--model-path", str(model_path), *extra,
    ]
