"""The model artifact: the joblib pipeline, its JSON metadata and the drift reference profile.

    artifacts/model/
    ├── model.joblib             the fitted scikit-learn pipeline
    ├── metadata.json            version, type, sha256 of model.joblib, metrics, features, versions
    ├── reference_profile.json   drift.ReferenceProfile built at training time
    ├── loss_model.joblib        model.loss.LossModel: label-free performance estimation
    └── loss_reference.json      drift.EstimationReference: what the estimate compares with

Loading reads model.joblib's bytes *once*, hashes them and unpickles those same bytes from
memory (no second open that a swapped file could slip into). The sha256 must match the
metadata's and, when given (`expected_sha256`, the consumer's --model-sha256), a hash pinned
from outside the artifact directory: whoever can replace the pickle can rewrite metadata.json
beside it, not the pin. Unpickling runs code, so a mismatch is refused, never loaded.

The loss model is verified the same way against ``loss_model_sha256`` in the metadata (read
once, hashed, unpickled from memory; a mismatch is refused). The pin covers model.joblib only:
whoever can rewrite metadata.json can swap the loss model too (see the README's security
notes). Artifacts written before it existed load without it: `estimation` is None, estimation
is off, and it is logged.

`target_max` (the training data's largest price) bounds the labels the consumer accepts.
Artifacts written before it was recorded load too: `ModelArtifact.target_max` then falls back
to the largest reference prediction in the profile (the held-out predictions, close to it),
and to None (no bound) for a profile without predictions.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
from sklearn.pipeline import Pipeline

from drift import EstimationReference, ReferenceProfile
from model.exceptions import ArtifactIntegrityError, ArtifactNotFoundError

log = logging.getLogger(__name__)

DEFAULT_ARTIFACT_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "model"
PIPELINE_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
PROFILE_FILE = "reference_profile.json"
LOSS_MODEL_FILE = "loss_model.joblib"
LOSS_REFERENCE_FILE = "loss_reference.json"
LOSS_SHA_KEY = "loss_model_sha256"


@dataclass(frozen=True)
class Estimation:
    """The loss model and its reference (`drift.PerformanceEstimator`'s two arguments)."""

    loss_model: Any  # model.loss.LossModel: unpickled, so typed loosely
    reference: EstimationReference


@dataclass(frozen=True)
class ModelArtifact:
    """A loaded, verified model."""

    pipeline: Pipeline
    metadata: dict[str, Any]
    profile: ReferenceProfile
    estimation: Estimation | None = None

    @property
    def version(self) -> str:
        return str(self.metadata["model_version"])

    @property
    def model_type(self) -> str:
        return str(self.metadata["model_type"])

    @property
    def sha256(self) -> str:
        return str(self.metadata["sha256"])

    @property
    def target_max(self) -> float | None:
        """The training data's largest price (see the module docstring for older artifacts)."""
        recorded = self.metadata.get("target_max")
        if isinstance(recorded, int | float) and recorded > 0:
            return float(recorded)
        prediction = self.profile.prediction
        if prediction is None:
            return None
        return float(max(prediction.edges[-1], prediction.sample.max()))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dump_verified(obj: Any, path: Path) -> str:
    """Pickle `obj` to `path` (written, then renamed over it); returns its sha256."""
    tmp = path.with_suffix(".joblib.tmp")
    joblib.dump(obj, tmp)
    os.replace(tmp, path)
    return file_sha256(path)


def load_verified(path: Path, expected: str, what: str, *, pinned: str | None = None) -> Any:
    """Unpickle `path` if its sha256 is `expected` (and `pinned`, a hash given from outside the
    artifact, when there is one): the bytes hashed are the bytes unpickled."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if pinned is not None and actual != pinned.lower():
        raise ArtifactIntegrityError(
            f"{path} has sha256 {actual}, but the pinned hash is {pinned.lower()}: refusing to "
            f"unpickle {what} that is not the one pinned"
        )
    if actual != expected:
        raise ArtifactIntegrityError(
            f"{path} has sha256 {actual}, but {METADATA_FILE} expects {expected}: refusing to "
            f"unpickle {what} that was changed after training"
        )
    return joblib.load(io.BytesIO(data))  # noqa: S301 - the verified bytes, from memory


def save_artifact(
    directory: Path, pipeline: Pipeline, metadata: dict[str, Any], profile: ReferenceProfile,
    *, estimation: Estimation | None = None,
) -> dict[str, Any]:
    """Write the files; returns the metadata as written (with sha256 and version)."""
    directory.mkdir(parents=True, exist_ok=True)
    sha = dump_verified(pipeline, directory / PIPELINE_FILE)
    written = {
        **metadata,
        "sha256": sha,
        "model_version": f"{metadata['model_type']}-{sha[:12]}",
    }
    if estimation is not None:
        written[LOSS_SHA_KEY] = dump_verified(estimation.loss_model, directory / LOSS_MODEL_FILE)
        estimation.reference.save(directory / LOSS_REFERENCE_FILE)
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


def load_artifact(
    directory: Path = DEFAULT_ARTIFACT_DIR, *, expected_sha256: str | None = None,
    expected_loss_sha256: str | None = None,
) -> ModelArtifact:
    """Load and verify; raises ArtifactNotFoundError or ArtifactIntegrityError."""
    metadata = load_metadata(directory)
    pipeline_path = directory / PIPELINE_FILE
    profile_path = directory / PROFILE_FILE
    for path in (pipeline_path, profile_path):
        if not path.is_file():
            raise ArtifactNotFoundError(f"{path} is missing: run `make train` first")
    data = pipeline_path.read_bytes()  # read once: the bytes hashed are the bytes unpickled
    actual = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and actual != expected_sha256.lower():
        raise ArtifactIntegrityError(
            f"{pipeline_path} has sha256 {actual}, but the pinned hash (--model-sha256) is "
            f"{expected_sha256.lower()}: refusing to unpickle a model that is not the one pinned"
        )
    if actual != metadata["sha256"]:
        raise ArtifactIntegrityError(
            f"{pipeline_path} has sha256 {actual}, but {METADATA_FILE} expects "
            f"{metadata['sha256']}: refusing to unpickle a file that was changed after training"
        )
    pipeline = joblib.load(io.BytesIO(data))  # noqa: S301 - the verified bytes, from memory
    profile = ReferenceProfile.load(profile_path)
    estimation = load_estimation(
        directory, metadata, model_pinned=expected_sha256 is not None,
        expected_sha256=expected_loss_sha256,
    )
    log.info("loaded model %s (%s)", metadata["model_version"], metadata["model_type"])
    return ModelArtifact(
        pipeline=pipeline, metadata=metadata, profile=profile, estimation=estimation
    )


def load_estimation(
    directory: Path, metadata: dict[str, Any], *, model_pinned: bool = False,
    expected_sha256: str | None = None,
) -> Estimation | None:
    """The verified loss model and its reference; None (logged) for an older artifact, and
    when the model's hash is pinned from outside the artifact but the loss model's is not:
    whoever can rewrite `metadata.json` could otherwise swap the loss model's pickle, which
    the model's pin is there to prevent."""
    expected = metadata.get(LOSS_SHA_KEY)
    if expected is None:
        log.info("artifact %s has no loss model: performance estimation is off", directory)
        return None
    if model_pinned and expected_sha256 is None:
        log.warning(
            "the model is pinned (--model-sha256) but the loss model is not "
            "(--loss-model-sha256): performance estimation is off rather than unpickling an "
            "unpinned file"
        )
        return None
    if not isinstance(expected, str):
        raise ArtifactIntegrityError(f"{LOSS_SHA_KEY} in {METADATA_FILE} is not a string")
    paths = (directory / LOSS_MODEL_FILE, directory / LOSS_REFERENCE_FILE)
    for path in paths:
        if not path.is_file():
            raise ArtifactNotFoundError(f"{path} is missing but {METADATA_FILE} lists it")
    loss_model = load_verified(paths[0], expected, "a loss model", pinned=expected_sha256)
    return Estimation(loss_model, EstimationReference.load(paths[1]))
