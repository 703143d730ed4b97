"""Errors raised by the model package.

ModelError
├── DataNotFoundError        the vendored diamonds data is missing
├── ArtifactError
│   ├── ArtifactNotFoundError    a file of the artifact is missing
│   └── ArtifactIntegrityError   sha256 mismatch or bad metadata: refused before unpickling
├── EventValidationError     one event breaks the schema (carries a bounded `reason` code)
└── RegistryError            the model registry cannot do what was asked (bad alias, no history)
    └── VersionNotFoundError     no such registered version
"""

from __future__ import annotations


class ModelError(Exception):
    """Root of every error raised by the model package."""


class DataNotFoundError(ModelError):
    """The vendored diamonds data set is missing."""


class ArtifactError(ModelError):
    """The model artifact cannot be used."""


class ArtifactNotFoundError(ArtifactError):
    """A file of the model artifact is missing."""


class ArtifactIntegrityError(ArtifactError):
    """The pipeline file does not match the sha256 recorded in its metadata."""


class EventValidationError(ModelError):
    """An event breaks the schema.

    `reason` is one of `model.schema.REASONS` (bounded, safe as a metric label); `field` names the
    offending field when there is one; the message shows the offending value.
    """

    def __init__(self, reason: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field


class RegistryError(ModelError):
    """The model registry cannot do what was asked."""


class VersionNotFoundError(RegistryError):
    """No such registered version."""
