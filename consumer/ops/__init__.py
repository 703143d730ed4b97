"""Ops plumbing of the service: the HTTP server, its metrics, rate-limited logs.

::

    http.py       MetricsServer (/metrics, /healthz, /readyz) and HealthState
    server.py     BoundedHTTPServer: capped connections, a socket timeout (no thread per idler)
    metrics.py    ConsumerMetrics: every diamond_* series of the scoring path (injected registry)
    ratelimit.py  RateLimitedLog / RateLimitFilter: bounded log volume per key
"""

from consumer.ops.http import HealthState, MetricsServer
from consumer.ops.metrics import ConsumerMetrics, observe_many
from consumer.ops.ratelimit import RateLimitedLog, RateLimitFilter
from consumer.ops.server import BoundedHTTPServer

__all__ = [
    "BoundedHTTPServer",
    "ConsumerMetrics",
    "HealthState",
    "MetricsServer",
    "RateLimitFilter",
    "RateLimitedLog",
    "observe_many",
]
