"""The fitted preprocessing step, evaluated directly on the batch's columns.

`pipeline.predict(frame)` spends about half its time in the `ColumnTransformer` (pandas column
selection, `OneHotEncoder`'s checks and string encoding) before the regressor runs. For the
project's pipeline::

    ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(...), cat)])

`compile_preprocessing` reads the fitted parameters (means, scales, categories, dropped
category) and `FastPreprocessor.transform` computes the same matrix with the same float
operations: `(x - mean_) / scale_`, then one 0/1 column per kept category, in the
transformer's column order. It is only built when the pipeline has exactly that structure *and*
a probe frame holding every category gives a bit-identical matrix to the pipeline's own
`transform`; otherwise the scorer keeps calling `pipeline.predict`. The model is unchanged:
its regressor predicts on the same matrix (a small batch through its flattened trees,
`consumer.pipeline.forest`, bit-identical).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Categorical:
    name: str
    categories: pd.Index
    drop: int | None  # index of the dropped category (all zeros), or None
    width: int


class FastPreprocessor:
    """Transform a feature frame like the fitted ColumnTransformer it was compiled from."""

    def __init__(
        self,
        numeric: list[str],
        mean: np.ndarray | None,
        scale: np.ndarray | None,
        categorical: list[_Categorical],
    ) -> None:
        self.numeric = numeric
        self.mean = mean
        self.scale = scale
        self.categorical = categorical
        self.width = len(numeric) + sum(c.width for c in categorical)
        # column -> (the CategoricalDtype last seen, the encoder index of each of its codes):
        # the batch frame's dtype is the same object every batch, so the lookup is built once
        self._luts: dict[str, tuple[pd.CategoricalDtype, np.ndarray]] = {}

    def transform(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The model's input matrix, or None when the pipeline must decide (an unknown
        category, a missing column, numbers that are not float64): its own transform then
        computes them or raises its own error."""
        n = len(frame)
        out = np.zeros((n, self.width), dtype=np.float64)
        try:
            columns = [frame[c] for c in self.numeric]
        except KeyError:
            return None
        if any(c.dtype != np.float64 for c in columns):  # the scaler would keep e.g. float32
            return None
        numeric = np.column_stack([c.to_numpy() for c in columns])
        if self.mean is not None:
            numeric -= self.mean
        if self.scale is not None:
            numeric /= self.scale
        out[:, : len(self.numeric)] = numeric
        offset = len(self.numeric)
        rows = np.arange(n)
        for cat in self.categorical:
            try:
                codes = self._codes(cat, frame[cat.name])
            except (KeyError, TypeError, pd.errors.InvalidIndexError):
                return None
            if n and codes.min() < 0:
                return None
            if cat.drop is None:
                out[rows, offset + codes] = 1.0
            else:
                kept = codes != cat.drop
                columns = codes[kept] - (codes[kept] > cat.drop)
                out[rows[kept], offset + columns] = 1.0
            offset += cat.width
        return out

    def _codes(self, cat: _Categorical, column: pd.Series) -> np.ndarray:
        """The index of each value in the encoder's categories (-1: unknown). A categorical
        column (the batch frame's) maps its own codes through its few categories: no string
        hashed."""
        dtype = column.dtype
        if not isinstance(dtype, pd.CategoricalDtype):
            return cat.categories.get_indexer(column)
        seen = self._luts.get(cat.name)
        if seen is not None and seen[0] is dtype:  # `is`: unordered dtypes compare equal
            lut = seen[1]                           # whatever their categories' order
        else:
            lut = np.append(cat.categories.get_indexer(dtype.categories), -1)  # -1: missing
            self._luts[cat.name] = (dtype, lut)
        return lut[column.array.codes]


def compile_preprocessing(pipeline: Any) -> FastPreprocessor | None:
    """A `FastPreprocessor` equivalent to `pipeline[:-1]`, or None (see the module docstring)."""
    try:
        fast = _build(pipeline)
    except (AttributeError, TypeError, ValueError, IndexError, KeyError) as exc:
        log.info("preprocessing not compiled (%s): using pipeline.predict", exc)
        return None
    if fast is None:
        return None
    try:
        probe = _probe_frame(fast)
        expected = pipeline[0].transform(probe)
        got = fast.transform(probe)
    except Exception as exc:  # the pipeline's own transform refused the probe: not ours
        log.info("preprocessing not compiled (probe failed: %s): using pipeline.predict", exc)
        return None
    if not (isinstance(expected, np.ndarray) and got is not None
            and expected.dtype == got.dtype and np.array_equal(expected, got)):
        log.warning("compiled preprocessing differs from the pipeline's: using pipeline.predict")
        return None
    log.info("preprocessing compiled (%d columns, bit-identical on a probe)", fast.width)
    return fast


def _build(pipeline: Any) -> FastPreprocessor | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return None
    pre = pipeline.steps[0][1]
    if not isinstance(pre, ColumnTransformer):
        return None
    fitted = [(name, t, cols) for name, t, cols in pre.transformers_
              if not (name == "remainder" and t == "drop")]
    if len(fitted) != 2:
        return None
    (_, scaler, numeric), (_, encoder, categorical) = fitted
    if not (type(scaler) is StandardScaler and type(encoder) is OneHotEncoder):
        return None
    if encoder.sparse_output or encoder.dtype not in (np.float64, float):
        return None
    if getattr(encoder, "_infrequent_enabled", False) or encoder.handle_unknown != "error":
        return None
    drops = encoder.drop_idx_ if encoder.drop_idx_ is not None else [None] * len(categorical)
    cats = []
    for name, categories, drop in zip(categorical, encoder.categories_, drops, strict=True):
        index = pd.Index(list(categories))
        if not index.is_unique:
            return None
        dropped = None if drop is None else int(drop)
        cats.append(_Categorical(str(name), index, dropped, len(index) - (dropped is not None)))
    mean = np.asarray(scaler.mean_, dtype=np.float64) if scaler.with_mean else None
    scale = np.asarray(scaler.scale_, dtype=np.float64) if scaler.with_std else None
    return FastPreprocessor([str(c) for c in numeric], mean, scale, cats)


def _probe_frame(fast: FastPreprocessor) -> pd.DataFrame:
    """Every category of every feature at least once, and a spread of numeric values."""
    n = max([len(c.categories) for c in fast.categorical] + [16])
    rng = np.random.default_rng(0)
    columns: dict[str, Any] = {}
    for name in fast.numeric:
        columns[name] = np.concatenate([[1e-3, 0.5, 1.0, 99.9], rng.uniform(0, 100, n - 4)])
    for cat in fast.categorical:
        values = list(cat.categories)
        columns[cat.name] = [values[i % len(values)] for i in range(n)]
    return pd.DataFrame(columns)
