"""Errors raised by the drift package.

DriftError
├── MissingColumnError   a frame lacks a column the profile needs (names the missing ones)
└── ProfileError         a profile cannot be built, read or used (bad data, unknown format_version,
                         no reference errors for concept drift)

Bad constructor parameters raise the built-in `ValueError`, naming the valid range.
"""

from __future__ import annotations


class DriftError(Exception):
    """Root of every error raised by the drift package."""


class MissingColumnError(DriftError):
    """A frame passed to a profile or monitor lacks one or more profiled columns."""


class ProfileError(DriftError):
    """A reference profile cannot be built, loaded or used for the requested check."""
