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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from common.signals import signal_handlers
from consumer.command import DROPPED_ENV_PREFIXES
from demo.settings import (
    DLQ_TOPIC,
    DRIFT_REPORTS_TOPIC,
    EVENTS_TOPIC,
    LABELS_TOPIC,
    MODELS_TOPIC,
    PREDICTIONS_TOPIC,
    REPO_ROOT,
    DemoSettings,
)
from infra.consumer_child import ConsumerChild
from infra.process import ChildProcess

log = logging.getLogger(__name__)

GROUP_ID = "diamond-scorer-demo"


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV_PREFIXES)}
    env.update({"PYTHONUNBUFFERED": "1", "LOG_LEVEL": env.get("LOG_LEVEL", "INFO")})
    env.update(extra or {})
    return env


def consumer_process(settings: DemoSettings, bootstrap: str, metrics_port: int,
                     log_file: Path, *, model_path: Path | None = None) -> ConsumerChild:
    """`python -m consumer` on the demo topics, reporting drift often for a short story.

    Settings go through CONSUMER_* variables: a variable the consumer does not know is ignored,
    where an unknown flag would be an error (only the metrics port and address, which every
    consumer has, are flags).
    """
    return ConsumerChild("consumer", log_file=log_file, metrics_port=metrics_port,
                         log_level=os.environ.get("LOG_LEVEL", "INFO"), settings={
        "bootstrap_servers": bootstrap,
        "input_topic": EVENTS_TOPIC,
        "output_topic": PREDICTIONS_TOPIC,
        "dlq_topic": DLQ_TOPIC,
        "labels_topic": LABELS_TOPIC,
        "drift_reports_topic": DRIFT_REPORTS_TOPIC,
        "group_id": GROUP_ID,
        "model_path": str(model_path or settings.model_path),
        "models_topic": MODELS_TOPIC,
        "lag_interval": "1",
        "drift_enabled": "true",
        "drift_eval_interval": f"{settings.drift_eval_interval:g}",
        "create_topics": "false",
    })


RETRAINER_GROUP_ID = "diamond-retrainer-demo"


def retrainer_process(bootstrap: str, registry_dir: Path, metrics_port: int,
                      log_file: Path) -> ChildProcess:
    """`python -m retrainer` sized for a two-minute story: it trains on the first concept alarm
    once 5,000 labelled rows are in its window (1,000 held out: the new model's drift
    references are measured on them; calibrated for windows of 500, a few seconds),
    and decides on 300 live labels."""
    argv = [
        sys.executable, "-m", "retrainer", "--bootstrap-servers", bootstrap,
        "--registry-dir", str(registry_dir), "--group-id", RETRAINER_GROUP_ID,
        "--events-topic", EVENTS_TOPIC, "--labels-topic", LABELS_TOPIC,
        "--drift-reports-topic", DRIFT_REPORTS_TOPIC, "--models-topic", MODELS_TOPIC,
        "--metrics-port", str(metrics_port), "--min-rows", "5000", "--min-gap-s", "0",
        "--min-labels", "300", "--live-window", "2000", "--drift-window-size", "500",
        "--create-topics", "false", "--poll-timeout", "0.2",
    ]
    return ChildProcess("retrainer", argv, log_file=log_file, cwd=REPO_ROOT, env=child_env())


def producer_process(settings: DemoSettings, bootstrap: str, *, scenario: str, run_id: str,
                     seed: int, labels: bool, seconds: float, log_file: Path) -> ChildProcess:
    argv = [
        sys.executable, "-m", "producer", "--bootstrap-servers", bootstrap,
        "--topic", EVENTS_TOPIC, "--scenario", scenario, "--rate", f"{settings.rate:g}",
        "--duration", f"{seconds:g}", "--seed", str(seed), "--run-id", run_id,
        "--no-create-topics", "--progress-interval", "10",
    ]
    if labels:
        argv += ["--labels", "--labels-topic", LABELS_TOPIC,
                 "--label-delay", f"{settings.label_delay:g}"]
    return ChildProcess(f"producer[{scenario}]", argv, log_file=log_file, cwd=REPO_ROOT,
                        env=child_env())


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
    with signal_handlers(note):
        yield received
