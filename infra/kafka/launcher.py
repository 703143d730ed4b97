"""``LocalBroker``: one Apache Kafka broker (KRaft, broker + controller) run from jars.

Usage::

    with LocalBroker(data_dir=tmp / "kafka", libs_dir=libs, port=19092) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})

``start()`` writes ``server.properties`` into ``data_dir``, formats the storage the first time
a data dir is used (the cluster id is kept in ``data_dir/cluster.id``, so a restart reuses the
data), then launches the JVM in its own session with its output appended to ``log_file``.
``wait_ready()`` returns once the broker answers a metadata request and fails fast, with the
tail of the log, if the JVM exits first.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from infra.kafka.exceptions import BrokerNotReady, BrokerStartError
from infra.kafka.jars import JAVA_HINT, KAFKA_JAR_GLOB, find_tool, kafka_jar
from infra.kafka.net import check_port, port_accepts, port_is_free
from infra.kafka.properties import broker_properties, render_properties
from infra.kafka.settings import LOG4J2_CONFIG
from infra.process import ManagedProcess

logger = logging.getLogger(__name__)

JVM_FLAGS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true")
LOG_TAIL_LINES = 40
LOG_ROTATE_BYTES = 50 * 1024**2  # at start, a larger log file is moved to <name>.1


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cluster_id.startswith("-"):
            return cluster_id


def probe_metadata(bootstrap_servers: str, timeout: float = 5.0) -> bool:
    """True when a broker at ``bootstrap_servers`` answers a metadata request in ``timeout``."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers,
                         "reconnect.backoff.ms": 100, "reconnect.backoff.max.ms": 500})
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:
        return False


class LocalBroker(ManagedProcess):
    """A single-node Kafka broker process on loopback; nothing happens until ``start()``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        libs_dir: Path,
        host: str = "127.0.0.1",
        port: int = 9092,
        controller_port: int | None = None,
        heap: str = "512M",
        log_file: Path | None = None,
        java: str = "java",
        properties: Mapping[str, str] | None = None,
    ) -> None:
        controller_port = port + 1 if controller_port is None else controller_port
        check_port("port", port)
        check_port("controller_port", controller_port)
        if port == controller_port:
            raise ValueError(f"port and controller_port are both {port}: they must differ")
        self.data_dir = Path(data_dir).absolute()
        super().__init__("Kafka broker", Path(log_file).absolute() if log_file is not None
                         else self.data_dir / "broker.log", tail_lines=LOG_TAIL_LINES)
        self.libs_dir = Path(libs_dir).absolute()
        self.host = host
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.java = java
        self.properties = dict(properties or {})

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "stopped"
        return f"LocalBroker({self.bootstrap_servers}, {state}, data_dir={self.data_dir})"

    # -- read-only state -------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "kafka-logs"

    @property
    def cluster_id_file(self) -> Path:
        return self.data_dir / "cluster.id"

    def server_properties(self) -> dict[str, str]:
        return broker_properties(host=self.host, port=self.port,
                                 controller_port=self.controller_port, log_dir=self.log_dir,
                                 overrides=self.properties)

    def java_command(self, java: str, main_class: str, *args: str,
                     heap: str | None = None) -> list[str]:
        heap = heap or self.heap
        return [java, f"-Xmx{heap}", f"-Xms{heap}", *JVM_FLAGS,
                f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
                "-cp", str(self.libs_dir / "*"), main_class, *args]

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Write the config, format the storage if new, and launch the broker JVM."""
        if self.is_running:
            raise BrokerStartError(f"{self!r} is already running")
        java = find_tool(self.java, hint=JAVA_HINT)
        if kafka_jar(self.libs_dir) is None:
            raise BrokerStartError(f"no {KAFKA_JAR_GLOB} in {self.libs_dir}: "
                                   "run `python -m infra.kafka fetch` (make kafka-libs) first")
        for port in (self.port, self.controller_port):
            if not port_is_free(self.host, port):
                raise BrokerStartError(
                    f"port {port} on {self.host} is already in use: stop what listens there "
                    "or choose other ports (--port/--controller-port, KAFKA_LOCAL_PORT)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(render_properties(self.server_properties()),
                                        encoding="latin-1")
        self._format_storage(java)
        process = self._launch(java)
        logger.info("started Kafka broker pid %d for %s (log: %s)",
                    process.pid, self.bootstrap_servers, self.log_file)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until the broker answers a metadata request; return the seconds waited."""
        started = time.monotonic()
        deadline = started + timeout
        admin: AdminClient | None = None
        while True:
            self._raise_if_exited()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerNotReady(
                    f"the broker at {self.bootstrap_servers} did not answer a metadata request "
                    f"within {timeout:g} s (log: {self.log_file})", detail=self.log_tail())
            if not port_accepts(self.host, self.port, timeout=min(remaining, 0.5)):
                time.sleep(0.1)
                continue
            if admin is None:
                admin = AdminClient({"bootstrap.servers": self.bootstrap_servers,
                                     "reconnect.backoff.ms": 100,
                                     "reconnect.backoff.max.ms": 500})
            try:
                if admin.list_topics(timeout=min(remaining, 5.0)).brokers:
                    waited = time.monotonic() - started
                    logger.info("Kafka broker %s ready after %.1f s", self.bootstrap_servers,
                                waited)
                    return waited
            except KafkaException:
                time.sleep(0.2)

    def restart(self, timeout: float = 60.0) -> None:
        """Stop (gracefully), start again on the same data dir and wait until ready."""
        self.stop()
        self.start()
        self.wait_ready(timeout)

    # -- internals -------------------------------------------------------------------------

    def _format_storage(self, java: str) -> None:
        """Format ``log_dir`` once; the cluster id is kept so a reformat uses the same id."""
        if (self.log_dir / "meta.properties").exists():
            return
        if self.cluster_id_file.exists():
            cluster_id = self.cluster_id_file.read_text(encoding="ascii").strip()
        else:
            cluster_id = new_cluster_id()
            self.cluster_id_file.write_text(cluster_id + "\n", encoding="ascii")
        cmd = self.java_command(java, "kafka.tools.StorageTool", "format", "--ignore-formatted",
                                "-t", cluster_id, "-c", str(self.properties_file), heap="256M")
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise BrokerStartError(
                f"formatting {self.log_dir} with cluster id {cluster_id} failed "
                f"(exit code {result.returncode})", detail="\n".join(output[-LOG_TAIL_LINES:]))
        logger.info("formatted %s with cluster id %s", self.log_dir, cluster_id)

    def _launch(self, java: str) -> subprocess.Popen[bytes]:
        """Run the broker JVM in its own session, appending its output to ``log_file``."""
        if self.log_file.exists() and self.log_file.stat().st_size > LOG_ROTATE_BYTES:
            self.log_file.replace(self.log_file.with_name(self.log_file.name + ".1"))
        try:
            return self._spawn(self.java_command(java, "kafka.Kafka", str(self.properties_file)),
                               cwd=self.data_dir, banner="infra.kafka: starting broker")
        except OSError as exc:
            raise BrokerStartError(f"could not run {java}: {exc}") from exc

    def _raise_if_exited(self) -> None:
        if self._process is None:
            raise BrokerStartError(f"{self!r} was not started: call start() first")
        code = self._exited()
        if code is not None:
            raise BrokerStartError(
                f"the Kafka broker for {self.bootstrap_servers} exited with code {code} "
                f"during startup (log: {self.log_file})", detail=self.log_tail())
