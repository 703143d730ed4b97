"""Starting what the story needs: the model, the consumer process and (optionally) Prometheus.

The broker and topics are in `demo.kafka_io`. Every start function returns an object the
caller stops by pid; a part that fails to start raises `SetupError` with what to do.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from demo.exceptions import ProcessFailed, SetupError
from demo.processes import ChildProcess, consumer_process, retrainer_process
from demo.settings import DemoSettings
from infra.kafka import free_ports
from infra.kafka.net import port_is_free
from infra.prometheus import LocalPrometheus, PrometheusError, find_prometheus

log = logging.getLogger(__name__)

CONSUMER_PORT = 8000
PROMETHEUS_PORT = 9090


def preferred_port(port: int, host: str = "127.0.0.1") -> int:
    """``port`` when it is free (stable URLs for the user), else any free port."""
    return port if port_is_free(host, port) else free_ports(1, host)[0]


def ensure_model(model_path: Path, say: Callable[[str], None]) -> None:
    """Train the model into ``model_path`` when its artifact is missing."""
    if (model_path / "model.joblib").is_file():
        return
    from model.exceptions import ModelError
    from model.settings import TrainSettings
    from model.train_job import run_training

    say(f"no model in {model_path}: training it first (python -m model train)...")
    try:
        metadata = run_training(TrainSettings(output_dir=model_path))
    except ModelError as exc:
        raise SetupError(f"training the model into {model_path} failed: {exc}") from exc
    say(f"trained {metadata['model_version']}")


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - local URL
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def start_registry(model_path: Path, root: Path) -> Path:
    """A model registry at ``root`` with the demo's model as v0001, champion."""
    from model.registry import ModelRegistry, copy_of

    registry = ModelRegistry(root)
    version = registry.register(copy_of(model_path), source="train",
                                reason=f"the demo's model {model_path}")
    registry.promote(version, "the demo starts with it")
    return root


def start_retrainer(settings: DemoSettings, bootstrap: str, registry: Path
                    ) -> tuple[ChildProcess, int]:
    """`python -m retrainer` on a free port; returns once /readyz answers 200."""
    port = free_ports(1)[0]
    process = retrainer_process(bootstrap, registry, port, settings.logs_dir / "retrainer.log")
    return wait_ready(process, port, settings, "the retrainer"), port


def start_consumer(settings: DemoSettings, bootstrap: str, port: int,
                   *, model_path: Path | None = None) -> ChildProcess:
    """`python -m consumer` on ``port`` (serving ``model_path``, default the settings');
    returns once /readyz answers 200."""
    process = consumer_process(settings, bootstrap, port, settings.logs_dir / "consumer.log",
                               model_path=model_path)
    return wait_ready(process, port, settings, "the consumer")


def wait_ready(process: ChildProcess, port: int, settings: DemoSettings, what: str
               ) -> ChildProcess:
    """Start `process` and wait until its /readyz on ``port`` answers 200 (stopped and
    SetupError after `startup_timeout`; ProcessFailed if it exits first)."""
    process.start()
    deadline = time.monotonic() + settings.startup_timeout
    while http_status(f"http://127.0.0.1:{port}/readyz") != 200:
        if not process.is_running:
            raise ProcessFailed(
                f"{what} exited with code {process.returncode} during startup "
                f"(log: {process.log_file}):\n{process.log_tail()}")
        if time.monotonic() > deadline:
            process.stop(settings.stop_timeout)
            raise SetupError(f"{what} was not ready within {settings.startup_timeout:g} s "
                             f"(log: {process.log_file})")
        time.sleep(0.2)
    return process


def start_prometheus(settings: DemoSettings, metrics_port: int, data_dir: Path,
                     say: Callable[[str], None]) -> LocalPrometheus | None:
    """A local Prometheus scraping the consumer, or None (with a message) when not installed."""
    if not settings.prometheus:
        say("Prometheus: skipped (--no-prometheus)")
        return None
    if find_prometheus() is None:
        say("Prometheus: not installed, skipped (make prometheus-bin installs it)")
        return None
    prom = LocalPrometheus(
        targets=[f"127.0.0.1:{metrics_port}"], data_dir=data_dir,
        port=preferred_port(PROMETHEUS_PORT), scrape_interval=settings.scrape_interval,
        log_file=settings.logs_dir / "prometheus.log")
    try:
        prom.start()
        prom.wait_ready(timeout=30)
    except PrometheusError as exc:
        prom.stop()
        raise SetupError(f"Prometheus could not start: {exc}") from exc
    return prom
