"""The training job: load the data, split, fit, evaluate, profile, write the artifact."""

from __future__ import annotations

import logging
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd

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
from model.settings import TrainSettings
from model.training import train

log = logging.getLogger(__name__)

_VERSIONED = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")
MIN_ESTIMATION_ROWS = 200  # held-out rows: 5 folds of 40, quantile bins of the estimates


def run_training(settings: TrainSettings) -> dict[str, Any]:
    frame = load_diamonds()
    if settings.sample is not None and settings.sample < len(frame):
        frame = frame.sample(n=settings.sample, random_state=SPLIT_SEED)
    train_frame, test_frame = split(frame)
    trained = train(train_frame, test_frame, settings.model)
    log.info("trained %s in %.1f s: %s", settings.model, trained.train_seconds, trained.evaluation)
    print(f"MSE: {trained.evaluation.mse:.2f}")  # the lab's printout

    residuals = test_frame[TARGET].to_numpy(dtype=float) - trained.test_predictions
    profile = ReferenceProfile.build(
        train_frame,
        numeric=list(NUMERIC_FEATURES),
        categorical={name: CATEGORIES[name] for name in CATEGORICAL_FEATURES},
        holdout=test_frame,
        reference_predictions=trained.test_predictions,
        reference_errors=residuals,
        window_size=settings.drift_window_size,
        # 1,000 windows: thresholds stable to a few % between seeds (200 varied by ~30 %).
        calibration_windows=1000,
    )
    estimation = build_estimation(test_frame, trained.test_predictions, residuals)
    metadata: dict[str, Any] = {
        "model_type": settings.model,
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
        "split": {"test_size": TEST_SIZE, "random_state": SPLIT_SEED, "n_train": len(train_frame)},
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
    return save_artifact(
        settings.output_dir, trained.pipeline, metadata, profile, estimation=estimation
    )


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
