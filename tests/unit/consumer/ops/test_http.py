"""The embedded HTTP server on port 0: real server, real requests."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from consumer.ops.http import HealthState, MetricsServer
from consumer.ops.metrics import ConsumerMetrics


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def served() -> Iterator[tuple[MetricsServer, HealthState, ConsumerMetrics]]:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    health = HealthState(liveness_timeout=30)
    with MetricsServer(registry, health, "127.0.0.1", 0) as server:
        yield server, health, metrics


def test_metrics_endpoint_serves_the_registry(served) -> None:
    server, _, metrics = served
    assert server.port > 0
    metrics.events_consumed.inc(7)
    status, body = get(server.port, "/metrics")
    assert status == 200
    assert "diamond_events_consumed_total 7.0" in body
    assert 'diamond_invalid_events_total{reason="oversize"} 0.0' in body


def test_readyz_follows_the_flags(served) -> None:
    server, health, _ = served
    status, body = get(server.port, "/readyz")
    assert status == 503 and "model_loaded=False" in body
    health.model_loaded = health.subscribed = health.first_poll_done = True
    assert get(server.port, "/readyz") == (200, "ready\n")
    health.stopping = True
    assert get(server.port, "/readyz")[0] == 503


def test_healthz_fails_when_the_loop_stalls(served) -> None:
    server, health, _ = served
    health.beat()
    status, body = get(server.port, "/healthz")
    assert status == 200 and body.startswith("ok")
    health.liveness_timeout = -1.0  # as if the last beat were too old
    status, body = get(server.port, "/healthz")
    assert status == 503 and body.startswith("stalled")


def test_unknown_path_is_404(served) -> None:
    server, _, _ = served
    assert get(server.port, "/nope")[0] == 404


def test_stop_releases_the_port() -> None:
    server = MetricsServer(CollectorRegistry(), HealthState(30), "127.0.0.1", 0).start()
    port = server.port
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
