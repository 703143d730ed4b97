"""Fixtures of the consumer unit tests (the fakes live in consumer_fakes.py, the shared samples
in tests/samples.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.features import CATEGORIES, FEATURES
from model.training import build_pipeline
from tests.samples import StubModel


@pytest.fixture(scope="session")
def tiny_model() -> StubModel:
    """A real scikit-learn pipeline fitted on 400 synthetic rows (seeded)."""
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "carat": rng.uniform(0.2, 3.0, n),
            "depth": rng.uniform(55, 70, n),
            "table": rng.uniform(50, 65, n),
            "cut": rng.choice(CATEGORIES["cut"], n),
            "color": rng.choice(CATEGORIES["color"], n),
            "clarity": rng.choice(CATEGORIES["clarity"], n),
        }
    )[list(FEATURES)]
    price = 4000 * frame["carat"] + rng.normal(0, 100, n)
    pipeline = build_pipeline("hgb")
    pipeline.set_params(model__max_iter=20)
    pipeline.fit(frame, price)
    return StubModel(pipeline, version="hgb-test", model_type="hgb")
