"""The model's input features: names, kinds and the categories the schema accepts.

One place for these facts so that the schema, training, the producer and the drift profile agree.
"""

from __future__ import annotations

NUMERIC_FEATURES: tuple[str, ...] = ("carat", "depth", "table")
CATEGORICAL_FEATURES: tuple[str, ...] = ("cut", "color", "clarity")
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
TARGET = "price"

# Ordered best to worst, as in the diamonds data set (ggplot2's factor levels).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "cut": ("Ideal", "Premium", "Very Good", "Good", "Fair"),
    "color": ("D", "E", "F", "G", "H", "I", "J"),
    "clarity": ("IF", "VVS1", "VVS2", "VS1", "VS2", "SI1", "SI2", "I1"),
}
