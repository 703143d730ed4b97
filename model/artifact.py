"""The model artifact: the joblib pipeline, its JSON metadata and the drift reference profile.

    artifacts/model/
    ├── model.joblib             the fitted scikit-learn pipeline
    ├── metadata.json            version, type, sha256 of model.joblib, metrics, features, versions
    └── reference_profile.json   drift.ReferenceProfile built at training time

Loading verifies model.joblib's sha256 against the metadata *before* unpickling: unpickling runs
code, so a swapped or corrupted file is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
from sklearn.pipeline import Pipeline

from drift import ReferenceProfile
from model.exceptions import ArtifactIntegrityError, ArtifactNotFoundError

log = logging.getLogger(__name__)

DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "model"
PIPELINE_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
PROFILE_FILE = "reference_profile.json"


@dataclass(frozen=True)
class ModelArtifact:
    """A loaded, verified model."""

    pipeline: Pipeline
    metadata: dict[str, Any]
    profile: ReferenceProfile

    @property
    def version(self) -> str:
        return str(self.metadata["model_version"])

    @property
    def model_type(self) -> str:
        return str(self.metadata["model_type"])

    @property
    def sha256(self) -> str:
        return str(self.metadata["sha256"])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_artifact(
    directory: Path, pipeline: Pipeline, metadata: dict[str, Any], profile: ReferenceProfile
) -> dict[str, Any]:
    """Write the three files; returns the metadata as written (with sha256 and version)."""
    directory.mkdir(parents=True, exist_ok=True)
    pipeline_path = directory / PIPELINE_FILE
    # Write then rename, so a reader never sees half a file.
    tmp = pipeline_path.with_suffix(".joblib.tmp")
    joblib.dump(pipeline, tmp)
    os.replace(tmp, pipeline_path)
    sha = file_sha256(pipeline_path)
    written = {
        **metadata,
        "sha256": sha,
        "model_version": f"{metadata['model_type']}-{sha[:12]}",
    }
    profile.save(directory / PROFILE_FILE)
    (directory / METADATA_FILE).write_text(json.dumps(written, indent=2, sort_keys=True) + "\n")
    return written


def load_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILE
    if not path.is_file():
        raise ArtifactNotFoundError(f"no model metadata at {path}: run `make train` first")
    try:
        metadata = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactIntegrityError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict) or not isinstance(metadata.get("sha256"), str):
        raise ArtifactIntegrityError(f"{path} has no sha256: refusing to load the pipeline")
    return metadata


def load_artifact(directory: Path = DEFAULT_ARTIFACT_DIR) -> ModelArtifact:
    """Load and verify; raises ArtifactNotFoundError or ArtifactIntegrityError."""
    metadata = load_metadata(directory)
    pipeline_path = directory / PIPELINE_FILE
    profile_path = directory / PROFILE_FILE
    for path in (pipeline_path, profile_path):
        if not path.is_file():
            raise ArtifactNotFoundError(f"{path} is missing: run `make train` first")
    actual = file_sha256(pipeline_path)
    if actual != metadata["sha256"]:
        raise ArtifactIntegrityError(
            f"{pipeline_path} has sha256 {actual}, but {METADATA_FILE} expects "
            f"{metadata['sha256']}: refusing to unpickle a file that was changed after training"
        )
    pipeline = joblib.load(pipeline_path)  # noqa: S301 - verified against the recorded sha256
    profile = ReferenceProfile.load(profile_path)
    log.info("loaded model %s (%s)", metadata["model_version"], metadata["model_type"])
    return ModelArtifact(pipeline=pipeline, metadata=metadata, profile=profile)
