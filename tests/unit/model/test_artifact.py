"""The artifact: written with metadata and profile, verified by sha256 before unpickling."""

from __future__ import annotations

import builtins
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from drift import PerformanceEstimator, ReferenceProfile
from model.artifact import (
    LOSS_MODEL_FILE,
    LOSS_REFERENCE_FILE,
    LOSS_SHA_KEY,
    METADATA_FILE,
    PIPELINE_FILE,
    PROFILE_FILE,
    file_sha256,
    load_artifact,
)
from model.data import load_diamonds, split
from model.exceptions import ArtifactIntegrityError, ArtifactNotFoundError
from model.features import FEATURES
from model.registry import REGISTRATION_FILE, ModelRegistry, resolve_artifact_dir
from model.settings import TrainSettings
from model.train_job import MIN_ESTIMATION_ROWS, build_estimation, run_training

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("artifact")
    run_training(TrainSettings(output_dir=directory / "model", sample=3000, drift_window_size=200))
    return directory / "model"  # and the registry beside it: directory / "registry"


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
    for name in (PIPELINE_FILE, METADATA_FILE, PROFILE_FILE, LOSS_MODEL_FILE,
                 LOSS_REFERENCE_FILE):
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


# -- issue 12.5: one read, hashed and unpickled from memory; a hash pinned from outside ------


def test_a_file_swapped_after_it_was_read_is_never_unpickled(
    artifact_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "race")
    target = copy / PIPELINE_FILE
    swapped = tmp_path / "swapped.joblib"
    joblib.dump({"swapped": True}, swapped)  # stands for a malicious pickle
    real_open = io.open

    def open_then_swap(file: Any, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, *args, **kwargs)
        if str(file) == str(target):  # the first reader sees the trained model...
            monkeypatch.setattr(io, "open", real_open)
            monkeypatch.setattr(builtins, "open", real_open)
            os.replace(swapped, target)  # ...and the file is replaced right after
        return handle

    monkeypatch.setattr(io, "open", open_then_swap)
    monkeypatch.setattr(builtins, "open", open_then_swap)
    artifact = load_artifact(copy)
    assert isinstance(artifact.pipeline, Pipeline)  # the bytes that were verified


def test_a_pinned_hash_is_checked_too(artifact_dir: Path, tmp_path: Path) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "pinned")
    good = file_sha256(copy / PIPELINE_FILE)
    assert load_artifact(copy, expected_sha256=good).sha256 == good
    assert load_artifact(copy, expected_sha256=good.upper()).sha256 == good
    # whoever replaces the pickle can rewrite metadata.json beside it, but not the pin
    joblib.dump({"swapped": True}, copy / PIPELINE_FILE)
    metadata = json.loads((copy / METADATA_FILE).read_text())
    metadata["sha256"] = file_sha256(copy / PIPELINE_FILE)
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    assert load_artifact(copy).sha256 == metadata["sha256"]  # the metadata alone is fooled
    with pytest.raises(ArtifactIntegrityError, match="pinned hash"):
        load_artifact(copy, expected_sha256=good)


def test_the_consumer_refuses_a_model_that_is_not_the_pinned_one(artifact_dir: Path) -> None:
    from consumer.app import load_model
    from consumer.exceptions import ModelLoadError

    with pytest.raises(ModelLoadError, match="pinned hash"):
        load_model(artifact_dir, expected_sha256="0" * 64)
    assert load_model(artifact_dir, expected_sha256=file_sha256(artifact_dir / PIPELINE_FILE))


def test_the_pin_is_a_setting_and_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from consumer.settings import ConsumerSettings

    assert ConsumerSettings().model_sha256 is None
    monkeypatch.setenv("CONSUMER_MODEL_SHA256", "ab" * 32)
    assert ConsumerSettings().model_sha256 == "ab" * 32
    with pytest.raises(ValidationError, match="model_sha256"):
        ConsumerSettings(model_sha256="not-a-hash")


# -- issue 12.3: the training data's largest price bounds the labels -------------------------


def test_training_records_the_largest_price(artifact_dir: Path) -> None:
    metadata = json.loads((artifact_dir / METADATA_FILE).read_text())
    train_frame = split(load_diamonds().sample(n=3000, random_state=42))[0]
    assert metadata["target_max"] == float(train_frame["price"].max())
    assert load_artifact(artifact_dir).target_max == metadata["target_max"]


def test_an_older_artifact_falls_back_to_the_profile_predictions(
    artifact_dir: Path, tmp_path: Path
) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "old")
    metadata = json.loads((copy / METADATA_FILE).read_text())
    del metadata["target_max"]
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    artifact = load_artifact(copy)
    assert artifact.profile.prediction is not None
    expected = max(artifact.profile.prediction.edges[-1], artifact.profile.prediction.sample.max())
    assert artifact.target_max == pytest.approx(expected) and artifact.target_max > 0


# -- issue 14: the loss model of label-free performance estimation ---------------------------


def test_training_writes_a_verified_loss_model_and_its_reference(artifact_dir: Path) -> None:
    metadata = json.loads((artifact_dir / METADATA_FILE).read_text())
    assert metadata[LOSS_SHA_KEY] == file_sha256(artifact_dir / LOSS_MODEL_FILE)
    artifact = load_artifact(artifact_dir)
    assert artifact.estimation is not None
    reference = artifact.estimation.reference
    assert reference.mae == pytest.approx(metadata["metrics"]["mae"])
    assert reference.n == 600 and reference.constant is not None and reference.kappa > 1
    rows = split(load_diamonds().sample(n=3000, random_state=42))[1].head(200)
    frame = rows[list(FEATURES)].assign(prediction=artifact.pipeline.predict(rows[list(FEATURES)]))
    estimator = PerformanceEstimator(reference, artifact.estimation.loss_model)
    estimator.update(frame)
    result = estimator.evaluate()
    assert result.n_events == 200 // estimator.sample_every
    assert result.mae > 0 and 0 < result.mae_ratio < 3


def test_a_tampered_loss_model_is_refused_before_unpickling(
    artifact_dir: Path, tmp_path: Path
) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "tampered-loss")
    with (copy / LOSS_MODEL_FILE).open("ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ArtifactIntegrityError, match="refusing to unpickle a loss model"):
        load_artifact(copy)


def test_a_pinned_model_needs_a_pinned_loss_model(
    artifact_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Whoever can rewrite metadata.json could swap the loss model's pickle: with the model
    pinned from outside, an unpinned loss model is never unpickled (estimation off, logged)."""
    metadata = json.loads((artifact_dir / METADATA_FILE).read_text())
    model_pin, loss_pin = metadata["sha256"], metadata[LOSS_SHA_KEY]
    with caplog.at_level(logging.WARNING, logger="model.artifact"):
        assert load_artifact(artifact_dir, expected_sha256=model_pin).estimation is None
    assert any("--loss-model-sha256" in r.getMessage() for r in caplog.records)
    pinned = load_artifact(artifact_dir, expected_sha256=model_pin,
                           expected_loss_sha256=loss_pin)
    assert pinned.estimation is not None
    copy = copy_artifact(artifact_dir, tmp_path / "swapped-loss")
    with (copy / LOSS_MODEL_FILE).open("ab") as handle:
        handle.write(b"\x00")
    metadata[LOSS_SHA_KEY] = file_sha256(copy / LOSS_MODEL_FILE)  # the attacker's rewrite
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(ArtifactIntegrityError, match="not the one pinned"):
        load_artifact(copy, expected_sha256=model_pin, expected_loss_sha256=loss_pin)


def test_a_listed_loss_model_that_is_missing_is_refused(artifact_dir: Path, tmp_path: Path) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "no-loss")
    (copy / LOSS_MODEL_FILE).unlink()
    with pytest.raises(ArtifactNotFoundError, match=LOSS_MODEL_FILE):
        load_artifact(copy)


def test_an_older_artifact_without_a_loss_model_loads_with_estimation_off(
    artifact_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "before-14")
    metadata = json.loads((copy / METADATA_FILE).read_text())
    del metadata[LOSS_SHA_KEY]
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    (copy / LOSS_MODEL_FILE).unlink()
    (copy / LOSS_REFERENCE_FILE).unlink()
    caplog.set_level(logging.INFO, logger="model")
    artifact = load_artifact(copy)
    assert artifact.estimation is None and isinstance(artifact.pipeline, Pipeline)
    assert "performance estimation is off" in caplog.text


def test_a_loss_model_swapped_after_it_was_read_is_never_unpickled(
    artifact_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_artifact(artifact_dir, tmp_path / "race-loss")
    target = copy / LOSS_MODEL_FILE
    swapped = tmp_path / "swapped.joblib"
    joblib.dump({"swapped": True}, swapped)
    real_open = io.open

    def open_then_swap(file: Any, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, *args, **kwargs)
        if str(file) == str(target):
            monkeypatch.setattr(io, "open", real_open)
            monkeypatch.setattr(builtins, "open", real_open)
            os.replace(swapped, target)
        return handle

    monkeypatch.setattr(io, "open", open_then_swap)
    monkeypatch.setattr(builtins, "open", open_then_swap)
    artifact = load_artifact(copy)
    assert artifact.estimation is not None
    assert hasattr(artifact.estimation.loss_model, "predict")  # the bytes that were verified


def test_too_few_held_out_rows_give_no_loss_model(caplog: pytest.LogCaptureFixture) -> None:
    held = split(load_diamonds().sample(n=3000, random_state=42))[1]  # 600 rows
    predictions = held["price"].to_numpy(dtype=float) * 1.1
    residuals = held["price"].to_numpy(dtype=float) - predictions
    few = MIN_ESTIMATION_ROWS - 1
    assert build_estimation(held.head(few), predictions[:few], residuals[:few]) is None
    assert "too few for a loss model" in caplog.text
    enough = build_estimation(held, predictions, residuals)
    assert enough is not None and enough.reference.n == 600


def test_training_registers_its_model_as_champion(artifact_dir: Path) -> None:
    registry = ModelRegistry(artifact_dir.parent / "registry")  # beside the output directory
    metadata = json.loads((artifact_dir / METADATA_FILE).read_text())
    assert registry.alias("champion") == "v0001"
    info = registry.show("v0001")
    assert info.registration["source"] == "train"
    assert (info.directory / REGISTRATION_FILE).is_file()
    assert registry.verify("v0001") == []
    loaded = load_artifact(resolve_artifact_dir(registry.root), expected_sha256=info.sha256)
    assert loaded.metadata["metrics"] == metadata["metrics"]
    # loaded through the registry, both pickles are pinned by the registration's hashes
    assert registry.load("v0001").estimation is not None


def test_the_consumer_serves_a_registry_root_by_its_champion(
    artifact_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from consumer.app import load_model
    from consumer.exceptions import ModelLoadError

    root = artifact_dir.parent / "registry"
    model = load_model(root)
    assert model.sha256 == ModelRegistry(root).show("v0001").sha256
    assert model.estimation is not None  # both pickles pinned by the registration
    # a registry whose champion's loss model changed after registration is refused
    copy = tmp_path / "registry"
    shutil.copytree(root, copy)
    loss = copy / "versions" / "v0001" / "loss_model.joblib"
    loss.write_bytes(loss.read_bytes() + b"\0")
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(copy)
    # and one without a champion says how to get one
    empty = tmp_path / "empty"
    shutil.copytree(root, empty)
    (empty / "aliases.json").write_text('{"history": []}')
    with pytest.raises(ModelLoadError, match="no champion"):
        load_model(empty)
