"""Training: the lab's pipeline shape, both model types, the vendored data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model.data import load_diamonds, split
from model.features import FEATURES
from model.training import build_pipeline, train


@pytest.fixture(scope="module")
def sample() -> tuple:
    frame = load_diamonds().sample(n=2000, random_state=0)
    return split(frame)


def test_vendored_data_loads_offline_with_string_categories() -> None:
    frame = load_diamonds()
    assert frame.shape == (53_940, 7)
    assert set(frame["cut"].unique()) == {"Ideal", "Premium", "Very Good", "Good", "Fair"}
    assert frame["cut"].dtype == object


def test_split_is_the_labs_80_20_with_seed_42() -> None:
    train_frame, test_frame = split(load_diamonds())
    assert (len(train_frame), len(test_frame)) == (43_152, 10_788)
    again_train, _ = split(load_diamonds())
    assert train_frame.index.equals(again_train.index)


def test_pipeline_is_the_labs_shape() -> None:
    pipeline = build_pipeline("forest")
    preprocess = pipeline.named_steps["preprocess"]
    assert isinstance(preprocess, ColumnTransformer)
    transformers = {name: (step, cols) for name, step, cols in preprocess.transformers}
    assert isinstance(transformers["num"][0], StandardScaler)
    assert transformers["num"][1] == ["carat", "depth", "table"]
    encoder = transformers["cat"][0]
    assert isinstance(encoder, OneHotEncoder)
    assert encoder.drop == "first" and encoder.sparse_output is False
    regressor = pipeline.named_steps["model"]
    assert isinstance(regressor, RandomForestRegressor)
    assert (regressor.n_estimators, regressor.random_state) == (100, 42)
    assert isinstance(build_pipeline("hgb").named_steps["model"], HistGradientBoostingRegressor)


def test_unknown_model_type_is_refused() -> None:
    with pytest.raises(ValueError, match="hgb"):
        build_pipeline("linear")  # type: ignore[arg-type]


@pytest.mark.parametrize("model_type", ["hgb", "forest"])
def test_trains_on_a_small_sample_and_predicts(sample: tuple, model_type: str) -> None:
    train_frame, test_frame = sample
    trained = train(train_frame, test_frame, model_type)  # type: ignore[arg-type]
    predictions = trained.pipeline.predict(test_frame[list(FEATURES)])
    assert predictions.shape == (len(test_frame),)
    assert np.all(np.isfinite(predictions))
    # A useful model on 1,600 rows: far better than predicting the mean (R2 > 0.8).
    assert trained.evaluation.r2 > 0.8
    assert trained.evaluation.mse == pytest.approx(
        float(np.mean((test_frame["price"].to_numpy() - predictions) ** 2))
    )


def test_one_hot_knows_every_category_even_if_the_sample_lacks_one(sample: tuple) -> None:
    train_frame, test_frame = sample
    no_fair = train_frame[train_frame["cut"] != "Fair"]
    trained = train(no_fair, test_frame, "hgb")
    fair = test_frame.head(3).assign(cut="Fair")
    assert np.all(np.isfinite(trained.pipeline.predict(fair[list(FEATURES)])))
