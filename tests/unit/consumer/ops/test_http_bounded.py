"""The metrics server under a crowd of idle sockets: real server, real sockets (issue 12.2)."""

from __future__ import annotations

import socket
import threading
import urllib.request
from contextlib import ExitStack

from prometheus_client import CollectorRegistry

from consumer.ops.http import HealthState, MetricsServer
from consumer.settings import ConsumerSettings


def test_a_thousand_idle_connections_leave_threads_bounded_and_metrics_answering() -> None:
    before = threading.active_count()
    with ExitStack() as stack:
        server = stack.enter_context(
            MetricsServer(CollectorRegistry(), HealthState(30.0), "127.0.0.1", 0)
        )
        idle = []
        for _ in range(1000):  # connected, never a byte sent
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port), 10))
            idle.append(sock)
        # served after every idle socket before it was accepted (the accept queue is FIFO)
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
        grown = threading.active_count() - before
        assert grown < 100, f"{grown} threads for 1,000 idle sockets"
        assert grown <= server.max_connections + 1, f"{grown} threads for 1,000 idle sockets"
        assert server.max_connections < 1000


def test_a_silent_client_is_disconnected_after_the_request_timeout() -> None:
    server = MetricsServer(
        CollectorRegistry(), HealthState(30.0), "127.0.0.1", 0, request_timeout=0.2
    )
    with server, socket.create_connection(("127.0.0.1", server.port), 10) as sock:
        sock.settimeout(30)  # a guard only: the server closes long before
        assert sock.recv(1024) == b""  # closed by the server, not by our own timeout


def test_the_server_binds_loopback_unless_told_otherwise() -> None:
    assert ConsumerSettings().metrics_addr == "127.0.0.1"
    assert ConsumerSettings(metrics_addr="0.0.0.0").metrics_addr == "0.0.0.0"  # noqa: S104
