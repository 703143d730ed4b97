"""ManagedProcess, the base of the local broker, the local Prometheus and every child the demo,
the benchmark and the chaos harness start: real child processes (python one-liners, and one
`python -m consumer` with a bad flag), stopped by pid."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from infra.consumer_child import ConsumerChild
from infra.kafka.exceptions import BrokerStartError
from infra.process import ChildProcess, InfraError, ManagedProcess
from infra.prometheus.exceptions import PrometheusNotReady

IGNORE_SIGTERM = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ignoring SIGTERM', flush=True); time.sleep(60)"
)


class Child(ManagedProcess):
    def __init__(self, log_file: Path, code: str) -> None:
        super().__init__("child", log_file, tail_lines=2)
        self.code = code

    def start(self) -> None:
        self._spawn([sys.executable, "-c", self.code], cwd=self.log_file.parent,
                    banner="test: starting child")

    def wait_ready(self, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while "ready" not in self.log_tail() and time.monotonic() < deadline:
            time.sleep(0.02)
        return 0.0


def wait_for_output(child: Child, text: str) -> None:
    deadline = time.monotonic() + 30
    while text not in child.log_tail() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert text in child.log_tail()


def test_stop_ends_the_child_by_pid_and_keeps_its_exit_code(tmp_path: Path) -> None:
    child = Child(tmp_path / "child.log", "import time; print('ready', flush=True); time.sleep(60)")
    assert child.pid is None and child.returncode is None and child.stop() is None
    child.start()
    pid = child.pid
    assert pid is not None and child.is_running and child.returncode is None
    assert os.getsid(pid) == pid  # its own session: a Ctrl-C to us is not one to it

    assert child.stop() == -signal.SIGTERM
    assert child.pid is None and not child.is_running
    assert child.returncode == -signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    child = Child(tmp_path / "child.log", IGNORE_SIGTERM)
    child.start()
    wait_for_output(child, "ignoring SIGTERM")

    assert child.stop(timeout=0.5) == -signal.SIGKILL


def test_the_log_tail_is_this_runs_output_only(tmp_path: Path) -> None:
    log_file = tmp_path / "child.log"
    first = Child(log_file, "print('first run')")
    first.start()
    wait_for_output(first, "first run")
    first.stop()

    second = Child(log_file, "print('one'); print('two'); print('three')")
    second.start()
    wait_for_output(second, "three")
    assert second.log_tail() == "two\nthree"  # tail_lines=2, and nothing of the first run
    assert second.log_tail(lines=10) == "one\ntwo\nthree"
    assert log_file.read_text().count("---- test: starting child at ") == 2
    second.stop()


def test_an_exit_is_noticed_once_and_forgotten(tmp_path: Path) -> None:
    child = Child(tmp_path / "child.log", "raise SystemExit(3)")
    child.start()
    deadline = time.monotonic() + 30
    while child.is_running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child._exited() == 3
    assert child.pid is None and child.returncode == 3
    assert child._exited() is None


def test_with_stops_the_child_even_when_the_block_fails(tmp_path: Path) -> None:
    child = Child(tmp_path / "child.log", "import time; print('ready', flush=True); time.sleep(60)")
    with pytest.raises(RuntimeError, match="boom"), child:
        pid = child.pid
        assert pid is not None
        raise RuntimeError("boom")
    assert child.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_launcher_errors_share_the_root_and_show_the_log_tail() -> None:
    for error in (BrokerStartError("it exited", detail="last log line"),
                  PrometheusNotReady("not ready", detail="last log line")):
        assert isinstance(error, InfraError)
        assert str(error).endswith("\nlast log line") and error.detail == "last log line"
    assert str(BrokerStartError("no detail")) == "no detail"


def test_a_plain_child_runs_its_command_and_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "preexec-ran"
    code = "import os; print(os.environ['ONLY']); raise SystemExit(4)"
    child = ChildProcess(
        "plain", [sys.executable, "-c", code],
        log_file=tmp_path / "plain.log", cwd=tmp_path, env={"ONLY": "this"}, banner="plain",
        preexec_fn=lambda: marker.write_text("ran"))
    with pytest.raises(InfraError, match="plain was never started"):
        child.wait()
    child.start()
    assert child.wait(timeout=30) == 4
    assert child.poll() == 4 and child.pid is None
    assert child.log_text() == "this\n"
    assert marker.read_text() == "ran"
    assert "---- plain at " in (tmp_path / "plain.log").read_text()


def test_poll_notices_an_exit_without_forgetting_the_process(tmp_path: Path) -> None:
    child = ChildProcess("quick", [sys.executable, "-c", "raise SystemExit(5)"],
                         log_file=tmp_path / "quick.log", cwd=tmp_path)
    child.start()
    pid = child.pid
    deadline = time.monotonic() + 30
    while child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child.poll() == 5 and child.pid == pid  # still known: stop() forgets it
    assert child.stop() == 5 and child.pid is None


def test_a_consumer_child_that_exits_before_ready_says_why(tmp_path: Path) -> None:
    child = ConsumerChild("bad-flag", log_file=tmp_path / "consumer.log",
                          flags=["--no-such-flag"], metrics_port=1)
    assert child.url("/readyz") == "http://127.0.0.1:1/readyz"
    child.start()
    try:
        with pytest.raises(InfraError, match="bad-flag exited with 2 before it was ready") as err:
            child.wait_ready(timeout=60)
        assert "unrecognized arguments: --no-such-flag" in err.value.detail
    finally:
        child.stop()
