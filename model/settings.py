"""Training settings: flags of `python -m model train` and TRAIN_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from common.settings import cli_settings_config
from model.artifact import DEFAULT_ARTIFACT_DIR
from model.training import ModelType


class TrainSettings(BaseSettings):
    model_config = cli_settings_config(env_prefix="TRAIN_", prog_name="python -m model train")

    model: ModelType = Field("hgb", description="regressor: hgb (default) or forest (the lab's)")
    output_dir: Path = Field(DEFAULT_ARTIFACT_DIR, description="artifact directory")
    drift_window_size: int = Field(
        2000, gt=0, description="window size the drift thresholds are calibrated for"
    )
    sample: int | None = Field(
        None, gt=0, description="train on a random sample of N rows (tests, quick looks)"
    )
