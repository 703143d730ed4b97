"""The background broker of ``make broker``: one per ``KAFKA_LOCAL_HOME``, tracked by a pid file.

``start_daemon`` is idempotent (a running, answering broker is reused), ``stop_daemon`` too
(nothing running is not an error). A lock file serialises concurrent start/stop calls. A pid is
trusted only if ``/proc/<pid>/cmdline`` shows ``kafka.Kafka`` with this home's
``server.properties``, so a stale pid file can never make us signal an unrelated process.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.kafka.exceptions import BrokerError, BrokerNotReady, BrokerStartError
from infra.kafka.jars import ensure_libs
from infra.kafka.launcher import LocalBroker, probe_metadata
from infra.kafka.settings import LocalKafkaSettings

logger = logging.getLogger(__name__)

PROC = Path("/proc")


@dataclass(frozen=True)
class DaemonStatus:
    """What ``status`` reports; ``pid`` is None when no broker of this home runs."""

    pid: int | None
    bootstrap_servers: str | None
    ready: bool
    rss_bytes: int | None


def broker_for(settings: LocalKafkaSettings) -> LocalBroker:
    return LocalBroker(data_dir=settings.data_dir, libs_dir=settings.libs_dir,
                       host=settings.host, port=settings.port,
                       controller_port=settings.resolved_controller_port, heap=settings.heap,
                       log_file=settings.log_file)


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rpartition(")")[2].split()[0] != "Z"


def is_broker_process(pid: int, properties_file: Path) -> bool:
    """True when ``pid`` runs ``kafka.Kafka`` with ``properties_file``."""
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in argv and str(properties_file).encode() in argv


def find_broker_pid(settings: LocalKafkaSettings) -> int | None:
    """The live broker of this home: the pid file's, else one found by scanning /proc."""
    properties_file = settings.data_dir / "server.properties"
    try:
        pid: int | None = int(settings.pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = None
    if pid is not None and pid_alive(pid) and is_broker_process(pid, properties_file):
        return pid
    for entry in PROC.glob("[0-9]*"):
        candidate = int(entry.name)
        if is_broker_process(candidate, properties_file) and pid_alive(candidate):
            return candidate
    return None


def advertised_bootstrap(properties_file: Path) -> str | None:
    """``host:port`` of the PLAINTEXT advertised listener written in ``properties_file``."""
    try:
        lines = properties_file.read_text(encoding="latin-1").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "advertised.listeners":
            for listener in value.split(","):
                name, _, address = listener.strip().partition("://")
                if name == "PLAINTEXT":
                    return address
    return None


def rss_bytes(pid: int) -> int | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def wait_for_metadata(bootstrap: str, timeout: float, alive: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout
    while alive() and (remaining := deadline - time.monotonic()) > 0:
        if probe_metadata(bootstrap, timeout=min(remaining, 5.0)):
            return True
        time.sleep(0.2)
    return False


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM ``pid``, SIGKILL after ``timeout`` s; return once it is gone."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.1)
        if sig == signal.SIGTERM:
            logger.warning("broker pid %d ignored SIGTERM for %g s: sending SIGKILL", pid, grace)
    raise BrokerError(f"broker pid {pid} survived SIGKILL for 10 s")


@contextmanager
def _locked(settings: LocalKafkaSettings) -> Iterator[None]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with (settings.run_dir / "launcher.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start_daemon(settings: LocalKafkaSettings, timeout: float = 60.0) -> str:
    """Start (or reuse) the detached broker of ``settings``; return its bootstrap address."""
    with _locked(settings):
        pid = find_broker_pid(settings)
        if pid is not None:
            bootstrap = advertised_bootstrap(settings.data_dir / "server.properties")
            if bootstrap != settings.bootstrap_servers:
                raise BrokerStartError(
                    f"a broker of {settings.home} already runs at {bootstrap} (pid {pid}), not "
                    f"{settings.bootstrap_servers}: run `python -m infra.kafka stop` first")
            if not wait_for_metadata(bootstrap, timeout, alive=lambda: pid_alive(pid)):
                raise BrokerNotReady(f"broker pid {pid} at {bootstrap} runs but does not answer: "
                                     f"see {settings.log_file}, then stop and start it again")
            logger.info("broker pid %d already running at %s", pid, bootstrap)
            return bootstrap
        settings.pid_file.unlink(missing_ok=True)
        ensure_libs(settings.libs_dir, stamp_file=settings.stamp_file)
        broker = broker_for(settings)
        broker.start()
        try:
            partial = settings.pid_file.with_suffix(".tmp")
            partial.write_text(f"{broker.pid}\n")
            partial.replace(settings.pid_file)
            broker.wait_ready(timeout)
        except BaseException:
            broker.stop(timeout=10)
            settings.pid_file.unlink(missing_ok=True)
            raise
        return broker.bootstrap_servers


def stop_daemon(settings: LocalKafkaSettings, timeout: float = 30.0) -> int | None:
    """Stop the detached broker; return its pid, or None when none was running."""
    with _locked(settings):
        pid = find_broker_pid(settings)
        if pid is not None:
            started = time.monotonic()
            terminate(pid, timeout)
            logger.info("stopped broker pid %d in %.1f s", pid, time.monotonic() - started)
        settings.pid_file.unlink(missing_ok=True)
        return pid


def daemon_status(settings: LocalKafkaSettings) -> DaemonStatus:
    pid = find_broker_pid(settings)
    if pid is None:
        return DaemonStatus(pid=None, bootstrap_servers=None, ready=False, rss_bytes=None)
    bootstrap = advertised_bootstrap(settings.data_dir / "server.properties")
    ready = bootstrap is not None and probe_metadata(bootstrap, timeout=5.0)
    return DaemonStatus(pid=pid, bootstrap_servers=bootstrap, ready=ready, rss_bytes=rss_bytes(pid))
