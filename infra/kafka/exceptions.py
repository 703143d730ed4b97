"""Errors raised by the local Kafka broker launcher.

::

    BrokerError                 root: catch this to handle any launcher failure
    ├── BrokerToolMissing       java or mvn is not installed (or too old)
    ├── BrokerFetchError        resolving the broker jars with Maven failed
    ├── BrokerStartError        the broker could not be started (port in use, no jars, JVM exited)
    └── BrokerNotReady          the broker runs but did not answer a metadata request in time

The first line of every message is a complete sentence that names the offending value and what
to do; a second part, when present, is the tail of the relevant log (``detail``).
"""

from __future__ import annotations

from infra.process import InfraError


class BrokerError(InfraError):
    """Root of the launcher errors (``message``, and the log tail in ``detail``)."""


class BrokerToolMissing(BrokerError):
    """A required executable (java, mvn) is missing from PATH or too old."""


class BrokerFetchError(BrokerError):
    """Maven could not resolve the broker jars."""


class BrokerStartError(BrokerError):
    """The broker process could not be started or exited during startup."""


class BrokerNotReady(BrokerError):
    """The broker did not answer a metadata request before the timeout."""
