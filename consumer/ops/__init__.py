"""Ops plumbing of the service: the HTTP server, its metrics, rate-limited logs.

::

    http.py       MetricsServer (/metrics, /healthz, /readyz) and HealthState
    metrics.py    ConsumerMetrics: every diamond_* series of the scoring path (injected registry)
    ratelimit.py  RateLimitedLog / RateLimitFilter: bounded log volume per key
"""

from consumer.ops.http import HealthState, MetricsServer
from consumer.ops.metrics import ConsumerMetrics, observe_many
from consumer.ops.ratelimit import RateLimitedLog, RateLimitFilter

__all__ = [
    "ConsumerMetrics",
    "HealthState",
    "MetricsServer",
    "RateLimitFilter",
    "RateLimitedLog",
    "observe_many",
]
