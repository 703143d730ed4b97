"""The flattened trees (`consumer.pipeline.forest`) predict exactly what the fitted
`HistGradientBoostingRegressor` predicts: bit for bit, missing and infinite values included;
what they cannot reproduce does not compile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

from consumer.pipeline import forest as forest_module
from consumer.pipeline.forest import FlatForest, compile_forest, probe_matrix
from consumer.pipeline.scoring import FOREST_MAX_ROWS, Scorer
from tests.unit.consumer.pipeline.test_scoring_fast import random_frame


def training_data(seed: int = 0, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Four features; missing values in two of them, which the target depends on, so that
    some splits send the missing ones left and some right."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = X[:, 0] * 3 + np.sin(X[:, 1]) + (X[:, 2] > 0.5) + rng.normal(0, 0.1, n)
    missing = rng.random(n) < 0.15
    X[missing, 1] = np.nan
    y[missing] += 4
    X[rng.random(n) < 0.1, 3] = np.nan
    return X, y


def hostile_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    X = rng.normal(size=(n, 4)) * 2
    X[rng.random((n, 4)) < 0.1] = np.nan
    X[rng.random((n, 4)) < 0.02] = np.inf
    X[rng.random((n, 4)) < 0.02] = -np.inf
    return X


@pytest.fixture(scope="module")
def regressor() -> HistGradientBoostingRegressor:
    X, y = training_data()
    return HistGradientBoostingRegressor(max_iter=60, random_state=0).fit(X, y)


@pytest.mark.parametrize("n", [1, 3, 64, 500])
def test_predictions_are_bit_identical(regressor, n: int) -> None:
    forest = compile_forest(regressor)
    assert forest is not None and forest.n_trees == 60
    rng = np.random.default_rng(n)
    for _ in range(10):
        X = hostile_rows(rng, n)
        assert np.array_equal(forest.predict(X), regressor.predict(X))


def test_both_missing_rules_are_taken(regressor) -> None:
    forest = compile_forest(regressor)
    assert forest is not None
    splits = ~forest.is_leaf
    assert forest.missing_left[splits].any() and not forest.missing_left[splits].all()
    X = np.full((4, 4), np.nan)
    assert np.array_equal(forest.predict(X), regressor.predict(X))


def test_the_probe_sits_on_every_threshold_and_holds_missing_values(regressor) -> None:
    forest = compile_forest(regressor)
    assert forest is not None
    probe = probe_matrix(forest)
    assert np.isnan(probe).any(axis=0).all() and np.isinf(probe).any(axis=0).all()
    for feature in range(4):
        used = forest.threshold[~forest.is_leaf & (forest.feature == feature)]
        assert np.isin(used, probe[:, feature]).all()
        assert np.isin(np.nextafter(used, np.inf), probe[:, feature]).all()


def test_rows_on_the_thresholds_go_where_scikit_learn_sends_them(regressor) -> None:
    """`<=`, not `<`: a value equal to a threshold goes left; the one just above, right."""
    forest = compile_forest(regressor)
    assert forest is not None
    rng = np.random.default_rng(9)
    for feature in range(4):
        used = forest.threshold[~forest.is_leaf & (forest.feature == feature)]
        for values in (used, np.nextafter(used, np.inf)):
            X = rng.normal(size=(len(values), 4))
            X[:, feature] = values
            assert np.array_equal(forest.predict(X), regressor.predict(X))


def test_a_matrix_of_another_width_is_refused(regressor) -> None:
    forest = compile_forest(regressor)
    assert forest is not None
    with pytest.raises(ValueError, match="expected 4 features"):
        forest.predict(np.zeros((2, 3)))


def test_an_estimator_that_refuses_the_probe_keeps_its_own_predict(regressor,
                                                                   monkeypatch) -> None:
    def refuse(self: object, X: np.ndarray) -> np.ndarray:
        raise ValueError("no")

    monkeypatch.setattr(HistGradientBoostingRegressor, "predict", refuse)
    assert compile_forest(regressor) is None


def test_a_forest_that_differs_by_a_bit_is_not_used(regressor, monkeypatch) -> None:
    real = FlatForest.predict
    monkeypatch.setattr(FlatForest, "predict",
                        lambda self, X: np.nextafter(real(self, X), np.inf))
    assert compile_forest(regressor) is None


def test_what_it_cannot_reproduce_does_not_compile(caplog) -> None:
    X, y = training_data(n=600)
    y = np.abs(y) + 0.1
    with caplog.at_level("INFO", logger=forest_module.__name__):
        assert compile_forest(HistGradientBoostingRegressor(loss="poisson", max_iter=5)
                              .fit(X, y)) is None  # a log link: refused before any probe
    assert not caplog.records
    categorical = pd.DataFrame({"a": X[:, 0], "c": pd.Categorical(
        np.where(X[:, 2] > 0, "x", "y"))})
    assert compile_forest(HistGradientBoostingRegressor(
        max_iter=5, categorical_features="from_dtype").fit(categorical, y)) is None
    assert compile_forest(RandomForestRegressor(n_estimators=2).fit(
        np.nan_to_num(X), y)) is None
    assert compile_forest(HistGradientBoostingRegressor()) is None  # not fitted


def test_the_scorer_walks_the_flat_trees_only_for_small_batches(tiny_model, monkeypatch) -> None:
    scorer = Scorer(tiny_model)
    assert scorer.flattened
    walked: list[int] = []
    real = forest_module.FlatForest.predict

    def counting(self: FlatForest, X: np.ndarray) -> np.ndarray:
        walked.append(len(X))
        return real(self, X)

    monkeypatch.setattr(forest_module.FlatForest, "predict", counting)
    rng = np.random.default_rng(5)
    for n in (1, FOREST_MAX_ROWS, FOREST_MAX_ROWS + 1):
        frame = random_frame(rng, n)
        expected = np.asarray(tiny_model.pipeline.predict(frame), dtype=np.float64)
        assert np.array_equal(scorer.predict(frame), expected)
    assert walked == [1, FOREST_MAX_ROWS]
