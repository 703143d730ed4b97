"""Errors of the benchmark harness.

::

    BenchError        root: the benchmark could not run
    └── CaseError     one case failed (its message names the case and what went wrong)
"""

from __future__ import annotations


class BenchError(Exception):
    """Root of every error raised by the bench package."""


class CaseError(BenchError):
    """One benchmark case failed to produce a measurement."""
