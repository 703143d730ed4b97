"""Prometheus for the demo and the tests: ``LocalPrometheus`` runs the real binary locally.

The YAML files here are the configuration for users (``prometheus.yml`` for docker-compose,
``prometheus.local.yml`` for a consumer on this machine) and the alerting rules (``alerts.yml``,
unit-tested by ``alerts.test.yml``). ``install.sh`` installs the binaries from Debian packages.
"""

from infra.prometheus.exceptions import (
    PrometheusError,
    PrometheusNotFound,
    PrometheusNotReady,
    PrometheusStartError,
)
from infra.prometheus.local import ALERTS_FILE, JOB_NAME, LocalPrometheus, find_prometheus

__all__ = [
    "ALERTS_FILE",
    "JOB_NAME",
    "LocalPrometheus",
    "PrometheusError",
    "PrometheusNotFound",
    "PrometheusNotReady",
    "PrometheusStartError",
    "find_prometheus",
]
