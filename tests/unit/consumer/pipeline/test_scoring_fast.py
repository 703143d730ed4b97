"""The compiled preprocessing (`consumer.pipeline.preprocess`) and the templated prediction JSON
give exactly what the pipeline and `orjson.dumps` give: bit-identical predictions,
byte-identical records."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from consumer.exceptions import ScoringError
from consumer.pipeline.batch import CATEGORY_DTYPES, BatchMeta
from consumer.pipeline.preprocess import compile_preprocessing
from consumer.pipeline.records import prediction_records
from consumer.pipeline.scoring import Scorer
from model.features import CATEGORIES, FEATURES, NUMERIC_FEATURES
from model.training import build_pipeline
from tests.samples import StubModel


def random_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    columns: dict[str, object] = {
        "carat": rng.choice([rng.uniform(0.01, 20, n), rng.exponential(1, n) + 1e-9]),
        "depth": rng.uniform(1e-6, 100, n),
        "table": rng.uniform(1e-6, 100, n),
    }
    for name, categories in CATEGORIES.items():
        columns[name] = [str(c) for c in rng.choice(categories, n)]
    return pd.DataFrame(columns, columns=list(FEATURES))


def test_the_project_pipeline_compiles(tiny_model) -> None:
    assert Scorer(tiny_model).compiled


@pytest.mark.parametrize("n", [1, 2, 17, 1000])
def test_predictions_are_bit_identical_to_the_pipeline(tiny_model, n: int) -> None:
    scorer = Scorer(tiny_model)
    rng = np.random.default_rng(n)
    for _ in range(20):
        frame = random_frame(rng, n)
        expected = np.asarray(tiny_model.pipeline.predict(frame), dtype=np.float64)
        assert np.array_equal(scorer.predict(frame), expected)


def test_the_matrix_is_bit_identical_to_the_column_transformer(tiny_model) -> None:
    fast = compile_preprocessing(tiny_model.pipeline)
    assert fast is not None
    frame = random_frame(np.random.default_rng(3), 5000)
    expected = tiny_model.pipeline[0].transform(frame)
    got = fast.transform(frame)
    assert got is not None and got.dtype == expected.dtype and np.array_equal(got, expected)


def test_a_batch_frame_of_categorical_columns_gives_the_same_matrix(tiny_model) -> None:
    """The batch frame holds the schema's categorical dtype (`CATEGORY_DTYPES`): its codes are
    mapped, not its strings hashed, to the same matrix; a categorical column in another order
    or with a category the model does not know goes the same way as strings."""
    fast = compile_preprocessing(tiny_model.pipeline)
    assert fast is not None
    frame = random_frame(np.random.default_rng(4), 2000)
    expected = tiny_model.pipeline[0].transform(frame)
    batch_like = frame.astype(CATEGORY_DTYPES)
    got = fast.transform(batch_like)
    assert got is not None and np.array_equal(got, expected)
    reordered = frame.astype({"color": pd.CategoricalDtype(sorted(CATEGORIES["color"],
                                                                  reverse=True))})
    got = fast.transform(reordered)
    assert got is not None and np.array_equal(got, expected)
    unknown = frame.astype({"cut": pd.CategoricalDtype([*CATEGORIES["cut"], "Excellent"])})
    assert fast.transform(unknown) is not None  # a category no row holds changes nothing
    unknown.loc[3, "cut"] = "Excellent"
    assert fast.transform(unknown) is None  # the pipeline decides (and refuses)


def test_the_forest_pipeline_is_identical_too() -> None:
    rng = np.random.default_rng(11)
    frame = random_frame(rng, 300)
    pipeline = build_pipeline("forest")
    pipeline.set_params(model__n_estimators=5, model__n_jobs=1)
    pipeline.fit(frame, frame["carat"] * 4000)
    scorer = Scorer(StubModel(pipeline, model_type="forest"))
    assert scorer.compiled
    test = random_frame(rng, 500)
    assert np.array_equal(scorer.predict(test), pipeline.predict(test))


def test_other_pipelines_are_left_to_their_own_predict() -> None:
    class Mean:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return np.full(len(frame), 42.0)

    scorer = Scorer(StubModel(Mean()))
    assert not scorer.compiled
    assert scorer.predict(random_frame(np.random.default_rng(0), 3)).tolist() == [42.0] * 3


def test_a_category_the_model_does_not_know_gets_the_pipelines_error(tiny_model) -> None:
    frame = random_frame(np.random.default_rng(1), 4)
    frame.loc[2, "cut"] = "Excellent"
    with pytest.raises(ScoringError, match="Excellent|unknown categor"):
        Scorer(tiny_model).predict(frame)


def test_a_missing_column_gets_the_pipelines_error(tiny_model) -> None:
    frame = random_frame(np.random.default_rng(1), 4).drop(columns=["depth"])
    with pytest.raises(ScoringError, match="depth"):
        Scorer(tiny_model).predict(frame)


def test_a_frame_of_other_number_types_goes_to_the_pipeline(tiny_model) -> None:
    frame = random_frame(np.random.default_rng(2), 10)
    for name in NUMERIC_FEATURES:
        frame[name] = frame[name].astype(np.float32)  # the scaler computes in float32 then
    fast = compile_preprocessing(tiny_model.pipeline)
    assert fast is not None and fast.transform(frame) is None
    expected = tiny_model.pipeline.predict(frame)
    assert np.array_equal(Scorer(tiny_model).predict(frame), expected)


# -- prediction records ---------------------------------------------------------------------

ODD_IDS = ["e-1", 'quo"te', "back\\slash", "ends\\", "tab\there", "nl\n", "\x00\x1f\x7f",
           "ünïcødé ✓", "\u2028\u2029", "emoji 💎", "%s %d %%", "", "x" * 128]
ODD_PRICES = [0.0, -0.0, 1.0, 326.0, 512.3000000000001, 1e-7, 1e16, 1.7976931348623157e308,
              5e-324, 123456789.123, 18823.99, 1 / 3]


@pytest.mark.parametrize("version", ["hgb-0123456789ab", 'we"ird%s\\', "ünï"])
def test_records_are_byte_identical_to_orjson_dumps_of_the_dict(version: str) -> None:
    rng = np.random.default_rng(5)
    n = 400
    ids = [ODD_IDS[i % len(ODD_IDS)] + str(i % 7) for i in range(n)]
    prices = np.concatenate([ODD_PRICES, rng.uniform(0, 20000, n - len(ODD_PRICES))])
    meta = BatchMeta(
        topic="in", keys=[None if i % 5 == 0 else f"k{i}".encode() for i in range(n)],
        partitions=rng.integers(0, 64, n).astype(np.int32),
        offsets=rng.integers(0, 2**62, n).astype(np.int64), event_ids=ids,
        event_times=rng.integers(946_684_800_000, 4_102_444_800_000, n).astype(np.int64),
    )
    records = prediction_records("out", meta, prices, version, 1_767_225_600_123)
    for i, record in enumerate(records):
        expected = orjson.dumps({
            "event_id": ids[i], "predicted_price": float(prices[i]), "model_version": version,
            "event_time": int(meta.event_times[i]), "scored_at": 1_767_225_600_123,
            "source_partition": int(meta.partitions[i]), "source_offset": int(meta.offsets[i]),
        })
        assert record.value == expected
        assert record.key == meta.keys[i] and record.topic == "out" and record.headers is None


def test_an_empty_batch_has_no_records() -> None:
    meta = BatchMeta("in", [], np.empty(0, np.int32), np.empty(0, np.int64), [],
                     np.empty(0, np.int64))
    assert prediction_records("out", meta, np.empty(0), "v", 1) == []
