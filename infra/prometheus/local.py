"""``LocalPrometheus``: the real ``prometheus`` binary scraping local targets, for demo and tests.

Usage::

    with LocalPrometheus(targets=["127.0.0.1:8000"], data_dir=tmp / "prom", port=19090,
                         scrape_interval=1.0) as prom:
        prom.query("sum(diamond_consumer_up)")      # the decoded /api/v1/query answer

``start()`` renders ``data_dir/prometheus.yml`` (the job, labels and rules of
``prometheus.local.yml``; only the targets and the intervals differ, and ``rule_files`` holds
the absolute path of ``alerts.yml``) and launches the binary in its own session with its TSDB
in ``data_dir/tsdb`` and its output in ``log_file``. ``wait_ready()`` polls ``/-/ready`` and fails
fast with the log tail if the process exits. ``stop()`` sends SIGTERM to that pid, then SIGKILL.

The config is written as JSON, which YAML parsers (Prometheus' included) read as YAML: no
YAML library is needed at run time.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.kafka.net import check_port, port_is_free
from infra.process import ManagedProcess
from infra.prometheus.exceptions import (
    PrometheusError,
    PrometheusNotFound,
    PrometheusNotReady,
    PrometheusStartError,
)

logger = logging.getLogger(__name__)

PROMETHEUS_DIR = Path(__file__).resolve().parent
ALERTS_FILE = PROMETHEUS_DIR / "alerts.yml"
JOB_NAME = "diamond-consumer"
EXTERNAL_LABELS = {"project": "diamond-monitor"}
INSTALL_HINT = "install it with `make prometheus-bin` (Debian package prometheus)"


def find_prometheus(binary: str = "prometheus") -> str | None:
    """The path of the prometheus executable, or None when it is not installed."""
    return shutil.which(binary)


def duration(seconds: float) -> str:
    """A Prometheus duration: ``1s``, ``500ms``, ``2m``... (whole milliseconds)."""
    if seconds <= 0:
        raise ValueError(f"a duration must be > 0 seconds, got {seconds}")
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


class LocalPrometheus(ManagedProcess):
    """One Prometheus process on loopback; nothing happens until ``start()``."""

    def __init__(
        self,
        *,
        targets: Sequence[str],
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 9090,
        scrape_interval: float = 5.0,
        evaluation_interval: float | None = None,
        rule_files: Sequence[Path] = (ALERTS_FILE,),
        job_name: str = JOB_NAME,
        binary: str = "prometheus",
        log_file: Path | None = None,
    ) -> None:
        if not targets:
            raise ValueError("targets is empty: give at least one host:port to scrape")
        check_port("port", port)
        self.targets = list(targets)
        self.data_dir = Path(data_dir).absolute()
        self.host = host
        self.port = port
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval or scrape_interval
        duration(scrape_interval), duration(self.evaluation_interval)  # validate early
        self.rule_files = [Path(f).absolute() for f in rule_files]
        self.job_name = job_name
        self.binary = binary
        super().__init__("Prometheus", Path(log_file).absolute() if log_file is not None
                         else self.data_dir / "prometheus.log", tail_lines=30)

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "stopped"
        return f"LocalPrometheus({self.url}, {state}, targets={self.targets})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "prometheus.yml"

    def render_config(self) -> dict[str, Any]:
        """The configuration: ``prometheus.local.yml`` with these targets and intervals."""
        return {
            "global": {
                "scrape_interval": duration(self.scrape_interval),
                "scrape_timeout": duration(min(self.scrape_interval, 4.0)),
                "evaluation_interval": duration(self.evaluation_interval),
                "external_labels": dict(EXTERNAL_LABELS),
            },
            "rule_files": [str(f) for f in self.rule_files],
            "scrape_configs": [{
                "job_name": self.job_name,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": list(self.targets)}],
            }],
        }

    def command(self, binary: str) -> list[str]:
        return [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
            f"--web.listen-address={self.host}:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Write the config and launch the process (in its own session)."""
        if self.is_running:
            raise PrometheusStartError(f"{self!r} is already running")
        binary = find_prometheus(self.binary)
        if binary is None:
            raise PrometheusNotFound(f"{self.binary!r} is not on PATH: {INSTALL_HINT}")
        missing = [str(f) for f in self.rule_files if not f.is_file()]
        if missing:
            raise PrometheusStartError(f"rule file(s) {missing} do not exist")
        if not port_is_free(self.host, self.port):
            raise PrometheusStartError(
                f"port {self.port} on {self.host} is already in use: choose another port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(json.dumps(self.render_config(), indent=2) + "\n")
        try:
            process = self._spawn(self.command(binary), cwd=self.data_dir)
        except OSError as exc:
            raise PrometheusStartError(f"could not run {binary}: {exc}") from exc
        logger.info("started Prometheus pid %d on %s scraping %s every %s (log: %s)",
                    process.pid, self.url, ", ".join(self.targets),
                    duration(self.scrape_interval), self.log_file)

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Block until ``/-/ready`` answers 200; return the seconds waited."""
        started = time.monotonic()
        while True:
            if self._process is None:
                raise PrometheusStartError(f"{self!r} was not started: call start() first")
            code = self._exited()
            if code is not None:
                raise PrometheusStartError(
                    f"Prometheus for {self.url} exited with code {code} during startup "
                    f"(log: {self.log_file})", detail=self.log_tail())
            if self._get_status("/-/ready") == 200:
                waited = time.monotonic() - started
                logger.info("Prometheus %s ready after %.1f s", self.url, waited)
                return waited
            if time.monotonic() - started > timeout:
                raise PrometheusNotReady(
                    f"Prometheus at {self.url} was not ready within {timeout:g} s "
                    f"(log: {self.log_file})", detail=self.log_tail())
            time.sleep(0.1)

    # -- HTTP API --------------------------------------------------------------------------

    def api(self, path: str, timeout: float = 10.0, **params: str) -> dict[str, Any]:
        """GET ``/api/v1/<path>`` and return the decoded JSON (error answers included)."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - our URL
                body = answer.read()
        except urllib.error.HTTPError as exc:  # 400/422/503 carry a JSON error body
            body = exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise PrometheusError(f"GET {url} failed: {exc}") from exc
        decoded: dict[str, Any] = json.loads(body)
        return decoded

    def query(self, expr: str, timeout: float = 10.0) -> dict[str, Any]:
        """An instant query: the decoded answer (``status``, ``data`` or ``error``)."""
        return self.api("query", timeout=timeout, query=expr)

    def _get_status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=1.0) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return None
