"""Fixtures of the producer unit tests: the lab's split, loaded once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from model.data import load_diamonds, split


@pytest.fixture(scope="session")
def diamond_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) exactly as training uses them; do not mutate."""
    return split(load_diamonds())


@pytest.fixture(scope="session")
def test_rows(diamond_split: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """The held-out test split the producer samples from (what `load_test_rows` returns)."""
    return diamond_split[1].reset_index(drop=True)
