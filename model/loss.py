"""The loss model of label-free performance estimation (Direct Loss Estimation).

A small HistGradientBoostingRegressor (Poisson loss: a positive mean with a log link, which
fits errors that scale with the price) predicts the primary model's absolute error from the
features and the primary prediction. It is cross-fitted on the held-out split: `K_FOLDS`
models each estimate the rows they were not fitted on (the estimates the reference and its
alarm bins are built from, `drift.estimation.EstimationReference`), and one model fitted on
all held-out rows is the one shipped.

It runs once per consumer batch, so it is kept cheap: 30 trees of 15 leaves (as accurate here
as 100 trees at a third of the predict time), and the categories enter as their ordinal codes
(the grades are ordered best to worst) rather than as declared categorical features, whose
per-call re-encoding inside the regressor cost ~6 ms per predict, most of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

from drift.profile import PREDICTION
from drift.reference import distinct_codes
from model.features import CATEGORICAL_FEATURES, CATEGORIES, NUMERIC_FEATURES

K_FOLDS = 5
RANDOM_STATE = 42
PARAMS = {
    "loss": "poisson", "max_iter": 30, "learning_rate": 0.3, "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
}


_GRADES = {name: {v: float(i) for i, v in enumerate(CATEGORIES[name])}
           for name in CATEGORICAL_FEATURES}


def loss_matrix(frame: pd.DataFrame) -> np.ndarray:
    """Numbers as they are, categories as their rank in `CATEGORIES` (unknown: NaN, which the
    regressor treats as missing), then the primary prediction."""
    columns = [frame[c].to_numpy(dtype=np.float64) for c in NUMERIC_FEATURES]
    for name in CATEGORICAL_FEATURES:  # hash the column once, look up its few distinct values
        rank = _GRADES[name].get
        codes, uniques = distinct_codes(frame[name])
        lookup = np.array([rank(u, np.nan) for u in uniques] + [np.nan])  # -1: missing
        columns.append(lookup[codes])
    columns.append(frame[PREDICTION].to_numpy(dtype=np.float64))
    return np.column_stack(columns)


def new_regressor() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(**PARAMS, random_state=RANDOM_STATE)


@dataclass(frozen=True)
class LossModel:
    """``predict(frame)``: the estimated absolute error of each row (features + prediction)."""

    regressor: HistGradientBoostingRegressor

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.regressor.predict(loss_matrix(frame)), dtype=np.float64)


@dataclass(frozen=True)
class FittedLoss:
    model: LossModel  # fitted on every held-out row: the one shipped
    cross_fitted: np.ndarray  # each row estimated by a fold model that never saw it


def fit_loss_model(
    features: pd.DataFrame, predictions: np.ndarray, truth: np.ndarray, *, folds: int = K_FOLDS
) -> FittedLoss:
    """Cross-fit on held-out rows (features, the primary predictions, the true prices)."""
    frame = features.assign(**{PREDICTION: np.asarray(predictions, dtype=np.float64)})
    x = loss_matrix(frame)
    target = np.abs(np.asarray(truth, dtype=np.float64) - frame[PREDICTION].to_numpy())
    estimates = np.empty(target.size)
    for fit_rows, est_rows in KFold(folds, shuffle=True, random_state=RANDOM_STATE).split(x):
        fold = new_regressor().fit(x[fit_rows], target[fit_rows])
        estimates[est_rows] = fold.predict(x[est_rows])
    return FittedLoss(LossModel(new_regressor().fit(x, target)), estimates)
