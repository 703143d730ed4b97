"""One vectorised predict per batch, behind the model's identity.

When the pipeline's preprocessing compiles (`consumer.pipeline.preprocess`: the project's
ColumnTransformer, checked bit-identical on a probe at load), the scorer builds the model's
input matrix from the frame's columns itself and calls the regressor's `predict` once; any
other pipeline, or a frame the compiled step cannot take, goes through `pipeline.predict`. A
batch of at most `FOREST_MAX_ROWS` events is predicted by the regressor's flattened trees when
they compile (`consumer.pipeline.forest`: bit-identical, checked on a probe at load), which
costs a fraction of scikit-learn's fixed ~2 ms per predict; larger batches by the regressor.

`predict_isolating` never lets one event's failure cost the batch: on a ScoringError it bisects
the frame and returns the predictions of every part that scores, and the rows that fail alone
(the pipeline dead-letters them as ``scoring_failed``). A batch that scores costs one predict.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from consumer.exceptions import ScoringError
from consumer.pipeline.forest import compile_forest
from consumer.pipeline.preprocess import compile_preprocessing

# Up to this many rows the flattened trees predict faster than scikit-learn (single-threaded,
# 97 trees: 0.5 against 1.8 ms at 10 rows, 1.5 against 2.3 ms at 100; break-even at ~200 rows;
# 11 against 8 ms at 1,000).
FOREST_MAX_ROWS = 128


class ThreadCap:
    """``with cap():`` caps the OpenMP/BLAS pools at `threads` (None: no cap, nothing done)."""

    def __init__(self, threads: int | None = 1) -> None:
        self.threads = threads
        self._pools = ThreadpoolController() if threads is not None else None

    def __call__(self) -> AbstractContextManager[object]:
        if self._pools is None:
            return nullcontext()
        return self._pools.limit(limits=self.threads)


class ModelLike(Protocol):
    """What the service needs from `model.artifact.ModelArtifact` (tests pass a small fake)."""

    @property
    def pipeline(self) -> Any: ...
    @property
    def version(self) -> str: ...
    @property
    def model_type(self) -> str: ...
    @property
    def sha256(self) -> str: ...


class Scorer:
    """Predict prices for a feature frame; `last_seconds` is the duration of the last call.

    `threads` caps the OpenMP/BLAS pools during predict (default 1): on micro-batches, intra-op
    threads gain little and, competing with librdkafka's threads (and a local broker) for the
    cores, made predict ~10x slower in our measurements.
    """

    def __init__(self, model: ModelLike, threads: int | None = 1) -> None:
        self.model = model
        self.threads = threads
        self.last_seconds = 0.0
        self._cap = ThreadCap(threads)
        self._preprocess = compile_preprocessing(model.pipeline)
        self._forest = (compile_forest(model.pipeline.steps[-1][1])
                        if self._preprocess is not None else None)

    @property
    def version(self) -> str:
        return self.model.version

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        if features.empty:
            self.last_seconds = 0.0
            return np.empty(0, dtype=np.float64)
        started = time.perf_counter()
        try:
            with self._cap():
                raw = self._predict(features)
        except Exception as exc:
            raise ScoringError(
                f"model {self.model.version} failed on a batch of {len(features)} valid events: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.last_seconds = time.perf_counter() - started
        predictions = np.asarray(raw, dtype=np.float64).reshape(-1)
        if predictions.shape[0] != len(features):
            raise ScoringError(
                f"model {self.model.version} returned {predictions.shape[0]} predictions "
                f"for {len(features)} events"
            )
        if not np.isfinite(predictions).all():
            raise ScoringError(f"model {self.model.version} returned non-finite predictions")
        return predictions

    @property
    def compiled(self) -> bool:
        """True when predict bypasses the pipeline's preprocessing (see the module docstring)."""
        return self._preprocess is not None

    @property
    def flattened(self) -> bool:
        """True when small batches are predicted by the flattened trees (`FOREST_MAX_ROWS`)."""
        return self._forest is not None

    def _predict(self, features: pd.DataFrame) -> Any:
        pipeline = self.model.pipeline
        if self._preprocess is not None:
            matrix = self._preprocess.transform(features)
            if matrix is not None:
                if self._forest is not None and len(matrix) <= FOREST_MAX_ROWS:
                    return self._forest.predict(matrix)
                return pipeline.steps[-1][1].predict(matrix)
        return pipeline.predict(features)


def predict_isolating(
    scorer: Scorer, features: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """(predictions, rows they belong to, [(row, error)] of the rows that fail on their own).

    One predict when the batch scores; else halves, recursively, down to single rows (at most
    2n - 1 predicts when every row fails)."""
    try:
        return scorer.predict(features), np.arange(len(features)), []
    except ScoringError as exc:
        if len(features) == 1:
            return np.empty(0), np.empty(0, dtype=np.int64), [(0, str(exc))]
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    failed: list[tuple[int, str]] = []
    middle = len(features) // 2
    for start, stop in ((0, middle), (middle, len(features))):
        predictions, rows, errors = predict_isolating(scorer, features.iloc[start:stop])
        parts.append((predictions, rows + start))
        failed.extend((row + start, error) for row, error in errors)
    return (np.concatenate([p for p, _ in parts]),
            np.concatenate([r for _, r in parts]).astype(np.int64), failed)
