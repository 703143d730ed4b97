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
    register_model: bool = Field(
        True, description="also register the model in the registry and make it champion"
    )
    registry_dir: Path | None = Field(
        None, description="model registry root (default: `registry` beside --output-dir)"
    )

    @property
    def registry_path(self) -> Path:
        """The registry root: `registry_dir`, else `registry` beside the output directory."""
        if self.registry_dir is not None:
            return self.registry_dir
        return self.output_dir.parent / "registry"
