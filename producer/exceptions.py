"""Errors raised by the producer package.

ProducerError
├── BrokerUnavailableError   no metadata from the bootstrap servers within the timeout
└── TopicError               a topic cannot be created or has an unusable layout
    └── TopicAuthorizationError  the principal may not describe or create the topic

Bad settings raise pydantic's `ValidationError` (a `ValueError`), naming the value and the valid
range. Per-message delivery failures are not exceptions: they are counted, logged and reported in
the `ProducerSummary` (and turn the exit code non-zero).
"""

from __future__ import annotations


class ProducerError(Exception):
    """Root of every error raised by the producer package."""


class BrokerUnavailableError(ProducerError):
    """The bootstrap servers did not answer a metadata request in time."""


class TopicError(ProducerError):
    """A topic cannot be created or checked."""


class TopicAuthorizationError(TopicError):
    """The configured principal is not allowed to describe or create a topic."""
