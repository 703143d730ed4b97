"""`ReferenceProfile`: everything a monitor compares live traffic with, built once at training.

A profile holds per-feature references (see `drift.reference`), the optional reference of the
model's predictions (profiled like a numeric feature named ``prediction``) and of its held-out
errors, and the calibrated effect-size thresholds with the window size and quantile they were
calibrated for. It is compact (bins, shares and a bounded sample, never the training set) and
round-trips through JSON with a ``format_version`` key.

Since format 3 it also holds what the sequential flags compare with (`SequentialReference`):
finer bins (edges off the values of discrete columns) from the training and held-out rows
together, and the calibration constant of every flag's bank, measured once here, at training
time, so that the monitors start without simulating. Profiles of formats 1 and 2 still load:
their sequential flags use the window monitors' bins and simulate their constants when they are
built (and log it). Format 4 adds the bins of the held-out errors relative to the predictions
(`ErrorReference.rel_edges`), the concept flag's statistic; without them (formats 1-3) the
concept flag watches the absolute errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from drift.calibration import Calibration, profile_categorical, profile_numeric
from drift.error_reference import ErrorReference
from drift.exceptions import MissingColumnError, ProfileError
from drift.jsonfile import load_json_object, save_json
from drift.reference import (
    CategoricalReference,
    NumericBins,
    NumericReference,
    SequentialReference,
)

# 2 added the absolute-error bins of `errors`, 3 `sequential`, 4 the relative-error bins
FORMAT_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
PREDICTION = "prediction"


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Reference distributions and calibrated thresholds; build with `ReferenceProfile.build`.

    `thresholds` maps each feature (and ``prediction``) to ``{"psi": ..., "distance": ...}``,
    the `quantile` high quantiles of those effect sizes over windows of `window_size` rows.
    """

    numeric: dict[str, NumericReference]
    categorical: dict[str, CategoricalReference]
    prediction: NumericReference | None
    errors: ErrorReference | None
    thresholds: dict[str, dict[str, float]]
    window_size: int
    quantile: float
    n_bins: int
    sample_size: int
    calibration_windows: int
    calibration_source: str  # "holdout", or "split": halves of train
    seed: int
    n_reference: int
    sequential: SequentialReference | None = None  # None before format 3

    def __post_init__(self) -> None:
        names = [*self.features, *([PREDICTION] if self.prediction is not None else [])]
        missing = [n for n in names if set(self.thresholds.get(n, ())) != {"psi", "distance"}]
        if missing:
            raise ProfileError(f"no psi and distance thresholds for {missing}")

    @property
    def features(self) -> tuple[str, ...]:
        """Input feature names: numeric first, then categorical."""
        return (*self.numeric, *self.categorical)

    @classmethod
    def build(
        cls,
        train: pd.DataFrame,
        *,
        numeric: Sequence[str],
        categorical: Sequence[str] | Mapping[str, Sequence[str]],
        holdout: pd.DataFrame | None = None,
        reference_predictions: np.ndarray | None = None,
        reference_errors: np.ndarray | None = None,
        window_size: int = 2000,
        n_bins: int = 10,
        sample_size: int = 5000,
        calibration_windows: int = 200,
        quantile: float = 0.99,
        seed: int = 42,
        sequential_bins: int = 20,
        sequential: bool = True,
    ) -> ReferenceProfile:
        """Profile `train`; calibrate thresholds on `holdout`, else on split halves of `train`.

        `categorical` is a list of column names (categories learnt from `train`: a pandas
        Categorical's declared order, else sorted) or a mapping name -> known categories.
        `reference_errors` are signed held-out residuals ``y_true - y_pred``; with
        `reference_predictions` of the same rows, the errors relative to them are binned too
        (format 4: the concept flag's statistic).
        `sequential` adds the sequential flags' reference (`sequential_bins` bins per numeric
        column) and measures their calibration constants (about a second in all); without it,
        the flags fall back to the window bins and each monitor measures its own constants.
        """
        _check_build_params(window_size, n_bins, sample_size, calibration_windows, quantile)
        if sequential_bins < 2:
            raise ValueError(f"sequential_bins must be >= 2, got {sequential_bins}")
        numeric = list(numeric)
        known = dict(categorical) if isinstance(categorical, Mapping) else None
        cat_names = list(categorical)
        names = [*numeric, *cat_names]
        if len(set(names)) != len(names) or PREDICTION in names or not names:
            raise ValueError(
                f"numeric and categorical must name distinct columns other than {PREDICTION!r}"
                f" (and at least one), got numeric={numeric}, categorical={cat_names}"
            )
        _require_columns(train, names, "train")
        if len(train) == 0:
            raise ProfileError("train is empty: nothing to profile")
        held = holdout if holdout is not None and len(holdout) > 0 else None
        if held is not None:
            _require_columns(held, names, "holdout")
        plan = Calibration(
            window_size, calibration_windows, quantile, n_bins, sample_size, seed
        )
        num_refs: dict[str, NumericReference] = {}
        cat_refs: dict[str, CategoricalReference] = {}
        thresholds: dict[str, dict[str, float]] = {}
        for name in numeric:
            values = train[name].to_numpy(dtype=np.float64)
            num_held = None if held is None else held[name].to_numpy(dtype=np.float64)
            num_refs[name], thresholds[name] = profile_numeric(name, values, num_held, plan)
        for name in cat_names:
            categories = None if known is None else known[name]
            cat_held = None if held is None else held[name]
            cat_refs[name], thresholds[name] = profile_categorical(
                name, train[name], cat_held, categories, plan
            )
        prediction = None
        if reference_predictions is not None:  # one array only: calibrated split-half
            values = np.asarray(reference_predictions, dtype=np.float64).ravel()
            prediction, thresholds[PREDICTION] = profile_numeric(PREDICTION, values, None, plan)
        errors = None if reference_errors is None else ErrorReference.from_residuals(
            np.asarray(reference_errors), predictions=_matching(
                reference_predictions, np.asarray(reference_errors)
            ),
        )
        profile = cls(
            numeric=num_refs, categorical=cat_refs, prediction=prediction, errors=errors,
            thresholds=thresholds, window_size=window_size, quantile=quantile, n_bins=n_bins,
            sample_size=sample_size, calibration_windows=calibration_windows,
            calibration_source="split" if held is None else "holdout", seed=seed,
            n_reference=len(train),
        )
        if not sequential:
            return profile
        profile = replace(profile, sequential=_sequential_reference(
            train, held, num_refs, cat_refs, reference_predictions, sequential_bins
        ))
        # imported here: drift.sequential is built on this module
        from drift.sequential.plan import calibration_constants

        assert profile.sequential is not None  # noqa: S101 - set just above
        constants = calibration_constants(profile)
        return replace(profile, sequential=replace(profile.sequential, constants=constants))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (finite floats, lists, strings) with a ``format_version`` key."""
        return {
            "format_version": FORMAT_VERSION,
            "window_size": self.window_size,
            "quantile": self.quantile,
            "n_bins": self.n_bins,
            "sample_size": self.sample_size,
            "calibration_windows": self.calibration_windows,
            "calibration_source": self.calibration_source,
            "seed": self.seed,
            "n_reference": self.n_reference,
            "numeric": [ref.to_dict() for ref in self.numeric.values()],
            "categorical": [ref.to_dict() for ref in self.categorical.values()],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "errors": None if self.errors is None else self.errors.to_dict(),
            "thresholds": {name: dict(values) for name, values in self.thresholds.items()},
            "sequential": None if self.sequential is None else self.sequential.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        version = data.get("format_version")
        if version not in READABLE_VERSIONS:
            raise ProfileError(
                f"unsupported profile format_version {version!r}, expected one of "
                f"{list(READABLE_VERSIONS)}"
            )
        try:
            numeric = [NumericReference.from_dict(d) for d in data["numeric"]]
            categorical = [CategoricalReference.from_dict(d) for d in data["categorical"]]
            return cls(
                numeric={ref.name: ref for ref in numeric},
                categorical={ref.name: ref for ref in categorical},
                prediction=None if data["prediction"] is None
                else NumericReference.from_dict(data["prediction"]),
                errors=None if data["errors"] is None else ErrorReference.from_dict(data["errors"]),
                thresholds={
                    str(name): {str(k): float(v) for k, v in values.items()}
                    for name, values in data["thresholds"].items()
                },
                window_size=int(data["window_size"]),
                quantile=float(data["quantile"]),
                n_bins=int(data["n_bins"]),
                sample_size=int(data["sample_size"]),
                calibration_windows=int(data["calibration_windows"]),
                calibration_source=str(data["calibration_source"]),
                seed=int(data["seed"]),
                n_reference=int(data["n_reference"]),
                sequential=None if data.get("sequential") is None
                else SequentialReference.from_dict(data["sequential"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProfileError(f"malformed profile: {exc!r}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the profile as JSON, atomically (a temporary file renamed over `path`)."""
        save_json(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReferenceProfile:
        return cls.from_dict(load_json_object(path))


def _sequential_reference(
    train: pd.DataFrame, held: pd.DataFrame | None, num_refs: Mapping[str, NumericReference],
    cat_refs: Mapping[str, CategoricalReference], predictions: np.ndarray | None, n_bins: int,
) -> SequentialReference:
    """Finer bins on the training and held-out rows together: a reference of more rows."""
    rows = train if held is None else pd.concat([train, held], ignore_index=True)
    numeric = {
        name: NumericBins.build(name, rows[name].to_numpy(dtype=np.float64), n_bins=n_bins)
        for name in num_refs
    }
    if predictions is not None:
        numeric[PREDICTION] = NumericBins.build(
            PREDICTION, np.asarray(predictions, dtype=np.float64).ravel(), n_bins=n_bins
        )
    categorical = {
        name: CategoricalReference.build(name, rows[name], ref.categories)
        for name, ref in cat_refs.items()
    }
    return SequentialReference(
        numeric=numeric, categorical=categorical, n_rows=len(rows),
        n_holdout=0 if held is None else len(held),
    )


def _matching(predictions: np.ndarray | None, errors: np.ndarray) -> np.ndarray | None:
    """The predictions the errors belong to (same length), else None: no relative bins."""
    if predictions is None:
        return None
    values = np.asarray(predictions, dtype=np.float64).ravel()
    return values if values.size == errors.size else None


def _check_build_params(
    window_size: int, n_bins: int, sample_size: int, calibration_windows: int, quantile: float
) -> None:
    if window_size < 1:
        raise ValueError(f"window_size must be >= 1, got {window_size}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    if sample_size < 1:
        raise ValueError(f"sample_size must be >= 1, got {sample_size}")
    if calibration_windows < 1:
        raise ValueError(f"calibration_windows must be >= 1, got {calibration_windows}")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")


def _require_columns(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise MissingColumnError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")
