"""The embedded HTTP server: `/metrics` (Prometheus), `/healthz` (liveness), `/readyz`.

A `BoundedHTTPServer` (`consumer.ops.server`: a thread per connection, at most
`max_connections` of them, `request_timeout` per socket read or write) in a daemon thread.
Liveness: the consume loop iterated within `liveness_timeout` seconds. Readiness: the model is
loaded, the consumer is subscribed and the first poll returned. Port 0 binds any free port;
`MetricsServer.port` is the one bound.
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from consumer.ops.server import BoundedHTTPServer

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 16
REQUEST_TIMEOUT = 5.0


class HealthState:
    """Liveness and readiness flags, written by the loop, read by the HTTP threads."""

    def __init__(self, liveness_timeout: float) -> None:
        self.liveness_timeout = liveness_timeout
        self.model_loaded = False
        self.subscribed = False
        self.first_poll_done = False
        self.stopping = False
        self._last_beat = time.monotonic()

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def seconds_since_beat(self) -> float:
        return time.monotonic() - self._last_beat

    @property
    def alive(self) -> bool:
        return self.seconds_since_beat() <= self.liveness_timeout

    @property
    def ready(self) -> bool:
        return (
            self.model_loaded and self.subscribed and self.first_poll_done and not self.stopping
        )


class MetricsServer:
    """Serve the registry and the health state; usable as a context manager."""

    def __init__(
        self, registry: CollectorRegistry, health: HealthState, addr: str, port: int,
        *, max_connections: int = MAX_CONNECTIONS, request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.registry = registry
        self.health = health
        self.addr = addr
        self.requested_port = port
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self._server: BoundedHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the metrics server is not started")
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        handler = _handler_class(self.registry, self.health)
        self._server = BoundedHTTPServer(
            (self.addr, self.requested_port), handler,
            max_connections=self.max_connections, request_timeout=self.request_timeout,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name="metrics-http", daemon=True,
        )
        self._thread.start()
        log.info("serving /metrics, /healthz, /readyz on http://%s:%d", self.addr, self.port)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_class(
    registry: CollectorRegistry, health: HealthState
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                age = health.seconds_since_beat()
                ok = health.alive
                body = f"{'ok' if ok else 'stalled'}: last loop iteration {age:.1f} s ago\n"
                self._send(200 if ok else 503, body.encode())
            elif path == "/readyz":
                ok = health.ready
                body = "ready\n" if ok else (
                    f"not ready: model_loaded={health.model_loaded} "
                    f"subscribed={health.subscribed} first_poll_done={health.first_poll_done} "
                    f"stopping={health.stopping}\n"
                )
                self._send(200 if ok else 503, body.encode())
            else:
                self._send(404, b"not found: try /metrics, /healthz or /readyz\n")

        def _send(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("http %s - %s", self.address_string(), format % args)

    return Handler
