"""Fixtures of the drift tests: a frame factory and a default profile built once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drift_testdata import CATEGORIES, NUMERIC, MakeFrame, fake_predictions, make_frame

from drift import ReferenceProfile


@pytest.fixture
def make() -> MakeFrame:
    return make_frame


@pytest.fixture(scope="session")
def reference_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2024)
    return make_frame(rng, 40_000), make_frame(rng, 10_000)


@pytest.fixture(scope="session")
def profile(reference_data: tuple[pd.DataFrame, pd.DataFrame]) -> ReferenceProfile:
    """Built with the defaults (window 2000, 200 calibration windows, quantile 0.99)."""
    train, holdout = reference_data
    rng = np.random.default_rng(7)
    return ReferenceProfile.build(
        train,
        numeric=NUMERIC,
        categorical=list(CATEGORIES),
        holdout=holdout,
        reference_predictions=fake_predictions(holdout, rng),
        reference_errors=rng.normal(0.0, 500.0, len(holdout)),
    )


@pytest.fixture(scope="session")
def relative_reference(
    reference_data: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[ReferenceProfile, np.ndarray, np.ndarray]:
    """A profile whose held-out errors grow with the price (10 % of it, as a price model's do),
    with the held-out predictions and residuals it was built from."""
    train, holdout = reference_data
    rng = np.random.default_rng(11)
    predictions = np.abs(fake_predictions(holdout, rng)) + 100.0
    residuals = rng.normal(0.0, 0.1, len(holdout)) * predictions
    profile = ReferenceProfile.build(
        train, numeric=NUMERIC, categorical=list(CATEGORIES), holdout=holdout,
        reference_predictions=predictions, reference_errors=residuals, calibration_windows=50,
    )
    return profile, predictions, residuals
