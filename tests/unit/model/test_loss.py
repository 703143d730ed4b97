"""model.loss: the loss model's input matrix and the cross-fitting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from model.features import CATEGORIES, FEATURES
from model.loss import fit_loss_model, loss_matrix


def frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    data = pd.DataFrame({"carat": rng.uniform(0.2, 3.0, n), "depth": 61.5, "table": 57.0})
    for name, levels in CATEGORIES.items():
        data[name] = rng.choice(np.array(levels, dtype=object), size=n)
    return data[list(FEATURES)]


def test_the_matrix_ranks_the_grades_and_marks_unknown_ones_missing() -> None:
    rows = pd.DataFrame({"carat": [0.5, 1.0], "depth": [61.0, 62.0], "table": [55.0, 58.0],
                         "cut": ["Ideal", "Fair"], "color": ["D", "sparkly"],
                         "clarity": ["I1", "IF"], "prediction": [1500.0, 4000.0]})
    x = loss_matrix(rows)
    assert x.shape == (2, 7)
    np.testing.assert_array_equal(x[0], [0.5, 61.0, 55.0, 0.0, 0.0, 7.0, 1500.0])
    assert x[1, 3] == 4.0 and math.isnan(x[1, 4]) and x[1, 5] == 0.0


def test_categorical_columns_give_the_same_matrix_as_strings() -> None:
    rows = frame(500, np.random.default_rng(8)).assign(prediction=1000.0)
    as_category = rows.astype({name: pd.CategoricalDtype(levels[::-1])  # any order
                               for name, levels in CATEGORIES.items()})
    np.testing.assert_array_equal(loss_matrix(as_category), loss_matrix(rows))
    assert not np.isnan(loss_matrix(rows)).any()


def test_cross_fitted_estimates_follow_the_error_scale() -> None:
    rng = np.random.default_rng(0)
    features = frame(3000, rng)
    predictions = 4000.0 * features["carat"].to_numpy()
    truth = predictions + rng.normal(0.0, 0.1 * predictions)  # E|e| = 0.08 x prediction
    fitted = fit_loss_model(features, predictions, truth)
    expected = 0.1 * math.sqrt(2 / math.pi) * predictions
    assert fitted.cross_fitted.shape == (3000,)
    assert fitted.cross_fitted.mean() == pytest.approx(expected.mean(), rel=0.05)
    heavy = features["carat"].to_numpy() > 2
    assert fitted.cross_fitted[heavy].mean() > 3 * fitted.cross_fitted[~heavy].mean() / 2
    shipped = fitted.model.predict(features.assign(prediction=predictions))
    assert not np.allclose(shipped, fitted.cross_fitted)  # fold models, not the shipped one
