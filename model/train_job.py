"""The training job: load the data, split, fit, evaluate, profile, write the artifact, register it.

`build_candidate` (fit, evaluate, profile, loss model on given frames) is shared with the
retrainer, which calls it on recent labelled rows.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from drift import EstimationReference, ProfileError, ReferenceProfile
from model.artifact import Estimation, save_artifact
from model.data import SPLIT_SEED, TEST_SIZE, load_diamonds, split
from model.features import (
    CATEGORICAL_FEATURES,
    CATEGORIES,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
)
from model.loss import K_FOLDS, fit_loss_model
from model.loss import PARAMS as LOSS_PARAMS
from model.registry import ModelRegistry
from model.settings import TrainSettings
from model.training import Evaluation, ModelType, train

log = logging.getLogger(__name__)

_VERSIONED = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
MIN_ESTIMATION_ROWS = 200  # held-out rows: 5 folds of 40, quantile bins of the estimates


@dataclass(frozen=True)
class Candidate:
    """A trained model and everything `save_artifact` writes beside it."""

    pipeline: Pipeline
    metadata: dict[str, Any]
    profile: ReferenceProfile
    estimation: Estimation | None
    evaluation: Evaluation

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the artifact into `directory`; returns the metadata as written."""
        return save_artifact(
            directory, self.pipeline, self.metadata, self.profile, estimation=self.estimation
        )


def run_training(settings: TrainSettings) -> dict[str, Any]:
    """Train on the lab's split, write the artifact to `settings.output_dir` and, unless
    `settings.register_model` is off, register it and make it champion: a person who runs
    `python -m model train` chose this model, so it serves (the retrainer, by contrast,
    registers a challenger that must win on live labels first). Returns the metadata, with
    ``registry_version`` when it was registered."""
    frame = load_diamonds()
    if settings.sample is not None and settings.sample < len(frame):
        frame = frame.sample(n=settings.sample, random_state=SPLIT_SEED)
    train_frame, test_frame = split(frame)
    candidate = build_candidate(
        train_frame, test_frame, model_type=settings.model,
        drift_window_size=settings.drift_window_size,
        split_info={"test_size": TEST_SIZE, "random_state": SPLIT_SEED,
                    "n_train": len(train_frame)},
    )
    print(f"MSE: {candidate.evaluation.mse:.2f}")  # the lab's printout
    metadata = candidate.save(settings.output_dir)
    if settings.register_model:
        registry = ModelRegistry(settings.registry_path)
        version = registry.register(
            candidate.save, source="train", reason="python -m model train",
            parent=registry.alias("champion"), scores={"test_mae": candidate.evaluation.mae},
        )
        for change in registry.promote(version, "trained by hand (python -m model train)"):
            log.info("registry %s", change.describe())
        metadata = {**metadata, "registry_version": version}
    return metadata


def build_candidate(
    train_frame: pd.DataFrame, test_frame: pd.DataFrame, *, model_type: ModelType,
    drift_window_size: int, split_info: Mapping[str, Any],
) -> Candidate:
    """Fit on `train_frame`, evaluate and build the drift profile and the loss model on
    `test_frame` (held out): what `python -m model train` and the retrainer both save.
    `split_info` is recorded as the metadata's ``split``."""
    trained = train(train_frame, test_frame, model_type)
    log.info("trained %s in %.1f s: %s", model_type, trained.train_seconds, trained.evaluation)
    residuals = test_frame[TARGET].to_numpy(dtype=float) - trained.test_predictions
    profile = ReferenceProfile.build(
        train_frame,
        numeric=list(NUMERIC_FEATURES),
        categorical={name: CATEGORIES[name] for name in CATEGORICAL_FEATURES},
        holdout=test_frame,
        reference_predictions=trained.test_predictions,
        reference_errors=residuals,
        window_size=drift_window_size,
        # 1,000 windows: thresholds stable to a few % between seeds (200 varied by ~30 %).
        calibration_windows=1000,
    )
    estimation = build_estimation(test_frame, trained.test_predictions, residuals)
    metadata: dict[str, Any] = {
        "model_type": model_type,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metrics": trained.evaluation.to_dict(),
        "train_seconds": round(trained.train_seconds, 3),
        "features": {
            "numeric": list(NUMERIC_FEATURES),
            "categorical": {name: list(CATEGORIES[name]) for name in CATEGORICAL_FEATURES},
        },
        "target": TARGET,
        # bounds the labels the consumer accepts (ModelArtifact.target_max)
        "target_max": float(train_frame[TARGET].max()),
        "split": dict(split_info),
        "reference_prediction_mean": float(np.mean(trained.test_predictions)),
        "library_versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in _VERSIONED},
        },
    }
    if estimation is not None:  # label-free performance estimation: its settings, its check
        metadata["loss_model"] = {
            **LOSS_PARAMS, "folds": K_FOLDS,
            "held_out_windows_median_abs_pct": round(
                estimation.reference.windows.median_abs_pct, 2
            ),
        }
    return Candidate(trained.pipeline, metadata, profile, estimation, trained.evaluation)


def build_estimation(
    test_frame: pd.DataFrame, predictions: np.ndarray, residuals: np.ndarray
) -> Estimation | None:
    """The loss model, cross-fitted on the held-out rows, and its reference; None (logged)
    when the held-out split is too small to estimate from (a tiny --sample)."""
    if len(test_frame) < MIN_ESTIMATION_ROWS:
        log.warning("%d held-out rows: too few for a loss model (>= %d); performance "
                    "estimation is off for this artifact", len(test_frame), MIN_ESTIMATION_ROWS)
        return None
    truth = test_frame[TARGET].to_numpy(dtype=float)
    fitted = fit_loss_model(test_frame[list(FEATURES)], predictions, truth)
    try:
        reference = EstimationReference.build(fitted.cross_fitted, residuals)
    except ProfileError as exc:
        log.warning("performance estimation is off for this artifact: %s", exc)
        return None
    log.info("loss model: held-out MAE %.1f, estimated %.1f (cross-fitted), windows of %d "
             "within %.1f %% (median)", reference.mae, reference.mean_estimate,
             reference.windows.size, reference.windows.median_abs_pct)
    return Estimation(fitted.model, reference)
