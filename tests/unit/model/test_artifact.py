"""The artifact: written with metadata and profile, verified by sha256 before unpickling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drift import ReferenceProfile
from model.artifact import METADATA_FILE, PIPELINE_FILE, PROFILE_FILE, file_sha256, load_artifact
from model.data import load_diamonds, split
from model.exceptions import ArtifactIntegrityError, ArtifactNotFoundError
from model.features import FEATURES
from model.settings import TrainSettings
from model.train_job import run_training

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("artifact")
    run_training(TrainSettings(output_dir=directory, sample=3000, drift_window_size=200))
    return directory


def test_training_writes_pipeline_metadata_and_profile(artifact_dir: Path) -> None:
    metadata = json.loads((artifact_dir / METADATA_FILE).read_text())
    assert metadata["sha256"] == file_sha256(artifact_dir / PIPELINE_FILE)
    assert metadata["model_version"] == f"hgb-{metadata['sha256'][:12]}"
    assert metadata["model_type"] == "hgb"
    assert set(metadata["metrics"]) == {"mse", "mae", "r2", "n_test"}
    assert metadata["metrics"]["n_test"] == 600
    assert metadata["features"]["numeric"] == ["carat", "depth", "table"]
    assert metadata["features"]["categorical"]["cut"][0] == "Ideal"
    assert {"scikit-learn", "numpy", "python"} <= set(metadata["library_versions"])
    assert metadata["created_at"].endswith("+00:00")
    profile = ReferenceProfile.load(artifact_dir / PROFILE_FILE)
    assert set(profile.features) == set(FEATURES)
    assert profile.prediction is not None and profile.errors is not None
    assert profile.window_size == 200


def test_loaded_artifact_predicts_like_the_trained_pipeline(artifact_dir: Path) -> None:
    artifact = load_artifact(artifact_dir)
    rows = split(load_diamonds().sample(n=3000, random_state=42))[1].head(50)
    predictions = artifact.pipeline.predict(rows[list(FEATURES)])
    assert predictions.shape == (50,) and np.all(np.isfinite(predictions))
    assert artifact.version.startswith("hgb-") and len(artifact.sha256) == 64


def copy_artifact(source: Path, target: Path) -> Path:
    target.mkdir()
    for name in (PIPELINE_FILE, METADATA_FILE, PROFILE_FILE):
        (target / name).write_bytes((source / name).read_bytes())
    return target


def test_tampered_pipeline_is_refused_before_unpickling(artifact_dir: Path, tmp_path: Path) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "tampered")
    with (copy / PIPELINE_FILE).open("ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ArtifactIntegrityError, match="refusing to unpickle"):
        load_artifact(copy)


def test_metadata_without_sha_is_refused(artifact_dir: Path, tmp_path: Path) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "nosha")
    metadata = json.loads((copy / METADATA_FILE).read_text())
    del metadata["sha256"]
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        load_artifact(copy)


def test_missing_artifact_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError, match="make train"):
        load_artifact(tmp_path)


def test_cli_trains_into_the_given_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "model", "train", "--output-dir", str(tmp_path), "--sample", "2000",
         "--drift-window-size", "100"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "MSE:" in result.stdout and "trained hgb-" in result.stdout
    assert (tmp_path / PIPELINE_FILE).is_file()


def test_cli_without_subcommand_prints_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "model"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "usage" in result.stderr
