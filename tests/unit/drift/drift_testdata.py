"""Seeded synthetic data shaped like the diamonds set (no file is read).

A uniquely named module rather than conftest.py: test modules import it, and `conftest` is an
ambiguous module name once other test folders have their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

NUMERIC = ("carat", "depth", "table")
CATEGORIES: dict[str, tuple[str, ...]] = {
    "cut": ("Ideal", "Premium", "Very Good", "Good", "Fair"),
    "color": ("D", "E", "F", "G", "H", "I", "J"),
    "clarity": ("IF", "VVS1", "VVS2", "VS1", "VS2", "SI1", "SI2", "I1"),
}
SHARES: dict[str, tuple[float, ...]] = {
    "cut": (0.40, 0.26, 0.22, 0.09, 0.03),
    "color": (0.13, 0.18, 0.18, 0.21, 0.15, 0.10, 0.05),
    "clarity": (0.03, 0.07, 0.09, 0.15, 0.23, 0.24, 0.17, 0.02),
}

MakeFrame = Callable[..., pd.DataFrame]


def make_frame(
    rng: np.random.Generator,
    n: int,
    *,
    carat_scale: float = 1.0,
    shares: Mapping[str, tuple[float, ...]] | None = None,
) -> pd.DataFrame:
    """`n` diamonds-like rows: rounded like the real columns, categories as plain strings."""
    mix = {**SHARES, **(shares or {})}
    carat = np.round(np.exp(rng.normal(-0.4, 0.55, n)), 2).clip(0.2, 5.0)
    frame = pd.DataFrame(
        {
            "carat": carat * carat_scale,
            "depth": np.round(rng.normal(61.7, 1.4, n), 1),
            "table": np.round(rng.normal(57.5, 2.2, n)),
        }
    )
    for name, categories in CATEGORIES.items():
        frame[name] = rng.choice(np.array(categories, dtype=object), size=n, p=mix[name])
    return frame


def fake_predictions(frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """A stand-in for the model: price grows with carat, plus noise."""
    return 4000.0 * frame["carat"].to_numpy() + rng.normal(0.0, 300.0, len(frame))
