"""Errors raised by the local Prometheus runner.

::

    PrometheusError             root: catch this to handle any runner failure
    ├── PrometheusNotFound      the prometheus binary is not on PATH
    ├── PrometheusStartError    it could not be started or exited during startup
    └── PrometheusNotReady      it runs but /-/ready did not answer 200 in time

The message names the offending value and what to do; ``detail`` holds the log tail.
"""

from __future__ import annotations

from infra.process import InfraError


class PrometheusError(InfraError):
    """Root of the runner errors (``message``, and the log tail in ``detail``)."""


class PrometheusNotFound(PrometheusError):
    """No prometheus executable on PATH."""


class PrometheusStartError(PrometheusError):
    """The process could not be started or exited before it was ready."""


class PrometheusNotReady(PrometheusError):
    """The process runs but did not report ready before the timeout."""
