"""The diamond-price model: features, event schema, training and the verified artifact."""

from model.exceptions import (
    ArtifactError,
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    DataNotFoundError,
    EventValidationError,
    ModelError,
    RegistryError,
    VersionNotFoundError,
)
from model.features import CATEGORICAL_FEATURES, CATEGORIES, FEATURES, NUMERIC_FEATURES, TARGET

__all__ = [
    "CATEGORICAL_FEATURES",
    "CATEGORIES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "TARGET",
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactNotFoundError",
    "DataNotFoundError",
    "EventValidationError",
    "ModelError",
    "RegistryError",
    "VersionNotFoundError",
]
