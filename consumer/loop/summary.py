"""What a run of the service returns, and loading its model (split out of `consumer.service`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consumer.exceptions import ModelLoadError
from consumer.pipeline.scoring import ModelLike


@dataclass
class RunSummary:
    consumed: int = 0
    predictions: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.consumed / self.seconds if self.seconds > 0 else 0.0


def load_model(path: Any) -> ModelLike:
    from model.artifact import load_artifact
    from model.exceptions import ArtifactError

    try:
        return load_artifact(path)
    except ArtifactError as exc:
        raise ModelLoadError(f"cannot load the model from {path}: {exc}") from exc
    except Exception as exc:  # unpickling a broken file can raise nearly anything
        raise ModelLoadError(
            f"cannot load the model from {path}: {type(exc).__name__}: {exc}"
        ) from exc
