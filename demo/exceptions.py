"""Errors of the demo run.

::

    DemoError               root: the demo failed; the message says which part and why
    ├── SetupError          the broker, the topics, the model or Prometheus could not be set up
    ├── ProcessFailed       a process the demo started exited early or with an error
    └── Interrupted         SIGTERM asked the demo to stop (Ctrl-C raises KeyboardInterrupt)
"""

from __future__ import annotations


class DemoError(Exception):
    """Root of the demo's errors."""


class SetupError(DemoError):
    """A part the story needs could not be set up."""


class ProcessFailed(DemoError):
    """A child process exited early or with a non-zero code."""


class Interrupted(DemoError):
    """The demo was asked to stop by a signal."""
