"""``python -m consumer`` as a child process of the demo, the benchmark or the chaos harness.

Its command line and environment come from ``consumer.command.consumer_command``; it serves
/metrics, /readyz and /healthz on ``metrics_port`` (a free port on 127.0.0.1 unless given), and
``scrape()`` reads /metrics through ``common.prometheus_text``.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from common.prometheus_text import Scrape, fetch
from consumer.command import consumer_command
from infra.kafka.net import free_ports
from infra.process import ChildProcess, InfraError

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


class ConsumerChild(ChildProcess):
    """One ``python -m consumer`` child: ``flags`` and ``settings`` as ``consumer_command``
    takes them, ``extra_env`` on top (e.g. ``CONSUMER_FAULT``)."""

    def __init__(self, name: str, *, log_file: Path, flags: Sequence[str] = (),
                 settings: Mapping[str, object] | None = None,
                 extra_env: Mapping[str, str] | None = None, metrics_port: int | None = None,
                 log_level: str = "INFO", banner: str = "",
                 preexec_fn: Callable[[], object] | None = None) -> None:
        self.metrics_port = metrics_port if metrics_port is not None else free_ports(1, HOST)[0]
        command = consumer_command(flags=flags, settings=settings, extra_env=extra_env,
                                   metrics_port=self.metrics_port, metrics_addr=HOST,
                                   log_level=log_level)
        super().__init__(name, command.argv, log_file=log_file, cwd=command.cwd,
                         env=command.env, banner=banner, preexec_fn=preexec_fn)
        self.started_at: float | None = None  # monotonic, just before the spawn

    def start(self) -> None:
        self.started_at = time.monotonic()
        super().start()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.metrics_port}{path}"

    def scrape(self, timeout: float = 3.0) -> Scrape:
        """/metrics, parsed (raises OSError when it does not answer)."""
        return fetch(self.url("/metrics"), timeout)

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from the start to the first 200 of /readyz; raises InfraError when the
        consumer exits first or is not ready within ``timeout`` s of its start."""
        if self.started_at is None:
            raise InfraError(f"{self.name} was never started")
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            code = self.poll()
            if code is not None:
                raise InfraError(f"{self.name} exited with {code} before it was ready",
                                 detail=self.log_tail())
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=1) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return time.monotonic() - self.started_at
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        raise InfraError(f"{self.name} not ready in {timeout:g} s", detail=self.log_tail())
