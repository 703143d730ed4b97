"""The diamonds data set, loaded through seaborn from the copy vendored in `data/`.

seaborn's `load_dataset(..., data_home=...)` reads `<data_home>/diamonds.csv` when it exists and
only downloads when it does not; we check first so nothing ever reaches the network.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from model.exceptions import DataNotFoundError
from model.features import CATEGORICAL_FEATURES, FEATURES, TARGET

DATA_HOME = Path(__file__).resolve().parents[1] / "data"
TEST_SIZE = 0.2
SPLIT_SEED = 42


def load_diamonds(data_home: Path = DATA_HOME) -> pd.DataFrame:
    """The 53,940 diamonds with plain string categories (seaborn gives pandas Categoricals)."""
    if not (data_home / "diamonds.csv").is_file():
        raise DataNotFoundError(f"{data_home / 'diamonds.csv'} is missing: it ships with the repo")
    import seaborn as sns  # heavy import (matplotlib): only where the data is loaded

    frame = sns.load_dataset("diamonds", data_home=str(data_home), cache=True)
    frame = frame[[*FEATURES, TARGET]].copy()
    for column in CATEGORICAL_FEATURES:
        frame[column] = frame[column].astype(str).astype(object)
    return frame


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lab's split: 80 % train, 20 % held-out test, random_state=42."""
    train, test = train_test_split(frame, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    return train, test
