"""Child processes of the demo: the consumer and the producer phases, started and stopped by pid.

Each child runs in its own session, so the terminal's Ctrl-C reaches only the demo, which then
stops the children in order (SIGTERM, SIGKILL after a timeout). Their output goes to one log file
each under ``demo-output/logs``. Inherited CONSUMER_* / PRODUCER_* variables are dropped: the
demo passes every setting it relies on explicitly.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from demo.exceptions import ProcessFailed
from demo.settings import (
    DLQ_TOPIC,
    DRIFT_REPORTS_TOPIC,
    EVENTS_TOPIC,
    LABELS_TOPIC,
    PREDICTIONS_TOPIC,
    REPO_ROOT,
    DemoSettings,
)
from infra.process import ManagedProcess

log = logging.getLogger(__name__)

DROPPED_ENV_PREFIXES = ("CONSUMER_", "PRODUCER_", "DEMO_", "TRAIN_")
GROUP_ID = "diamond-scorer-demo"


class ChildProcess(ManagedProcess):
    """A `python -m ...` child of the demo with its own log file and environment."""

    def __init__(self, name: str, argv: Sequence[str], *, log_file: Path,
                 env: Mapping[str, str] | None = None, cwd: Path = REPO_ROOT) -> None:
        super().__init__(name, log_file, tail_lines=15)
        self.argv = list(argv)
        self.env = dict(env) if env is not None else child_env()
        self.cwd = cwd

    def __repr__(self) -> str:
        return f"ChildProcess({self.name}, pid={self.pid}, returncode={self.returncode})"

    def start(self) -> None:
        process = self._spawn(self.argv, cwd=self.cwd, env=self.env)
        log.info("started %s pid %d (log: %s)", self.name, process.pid, self.log_file)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit and return its code (raises subprocess.TimeoutExpired)."""
        process = self._process
        if process is None:
            if self._last_code is None:
                raise ProcessFailed(f"{self.name} was never started")
            return self._last_code
        code = process.wait(timeout=timeout)
        self._forget(process)
        return code


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV_PREFIXES)}
    env.update({"PYTHONUNBUFFERED": "1", "LOG_LEVEL": env.get("LOG_LEVEL", "INFO")})
    env.update(extra or {})
    return env


def consumer_process(settings: DemoSettings, bootstrap: str, metrics_port: int,
                     log_file: Path) -> ChildProcess:
    """`python -m consumer` on the demo topics, with a small drift window for a short story.

    Settings go through CONSUMER_* variables: a variable the consumer does not know is ignored,
    where an unknown flag would be an error.
    """
    env = child_env({
        "CONSUMER_BOOTSTRAP_SERVERS": bootstrap,
        "CONSUMER_INPUT_TOPIC": EVENTS_TOPIC,
        "CONSUMER_OUTPUT_TOPIC": PREDICTIONS_TOPIC,
        "CONSUMER_DLQ_TOPIC": DLQ_TOPIC,
        "CONSUMER_LABELS_TOPIC": LABELS_TOPIC,
        "CONSUMER_DRIFT_REPORTS_TOPIC": DRIFT_REPORTS_TOPIC,
        "CONSUMER_GROUP_ID": GROUP_ID,
        "CONSUMER_MODEL_PATH": str(settings.model_path),
        "CONSUMER_METRICS_ADDR": "127.0.0.1",
        "CONSUMER_METRICS_PORT": str(metrics_port),
        "CONSUMER_LAG_INTERVAL": "1",
        "CONSUMER_DRIFT_ENABLED": "true",
        "CONSUMER_DRIFT_WINDOW_SIZE": str(settings.drift_window_size),
        "CONSUMER_DRIFT_EVAL_INTERVAL": f"{settings.drift_eval_interval:g}",
        "CONSUMER_CONCEPT_RATIO_THRESHOLD": f"{settings.concept_ratio_threshold:g}",
        "CONSUMER_CREATE_TOPICS": "false",
    })
    return ChildProcess("consumer", [sys.executable, "-m", "consumer"], log_file=log_file,
                          env=env)


def producer_process(settings: DemoSettings, bootstrap: str, *, scenario: str, run_id: str,
                     seed: int, labels: bool, log_file: Path) -> ChildProcess:
    argv = [
        sys.executable, "-m", "producer", "--bootstrap-servers", bootstrap,
        "--topic", EVENTS_TOPIC, "--scenario", scenario, "--rate", f"{settings.rate:g}",
        "--duration", f"{settings.phase_seconds:g}", "--seed", str(seed), "--run-id", run_id,
        "--no-create-topics", "--progress-interval", "10",
    ]
    if labels:
        argv += ["--labels", "--labels-topic", LABELS_TOPIC,
                 "--label-delay", f"{settings.label_delay:g}"]
    return ChildProcess(f"producer[{scenario}]", argv, log_file=log_file)


@contextmanager
def deferred_signals() -> Iterator[list[str]]:
    """While cleaning up, SIGINT/SIGTERM are noted, not raised: the cleanup runs to the end."""
    received: list[str] = []

    def note(signum: int, _: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        print(f"\n{signal.Signals(signum).name}: already stopping, please wait",
              file=sys.stderr, flush=True)

    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may set handlers (and receives the signals)
        return
    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
