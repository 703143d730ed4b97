"""The scenario contract: how a batch of sampled rows becomes events and their true prices.

A scenario gets the rows the generator sampled from the held-out test split (a DataFrame with
the model features and `price`), the absolute event index of each row and a seeded
`np.random.Generator`, and returns ``(features, prices)``: the feature frame to publish (same
length and order, same columns) and the ground-truth price of each event. It must not mutate its
input. All randomness comes from the generator it is given, so a stream is a pure function of
the seed.

A scenario that changes *which* rows are sent (`covariate-shift`) overrides `pick`: given the
positions in the source the generator sampled for a chunk, it returns the positions to send
(the default keeps them, so the other scenarios' streams never depend on it).

`weight(index)` is the drift strength profile over event indices: 0 before `onset`, then 1
(a step) unless a subclass ramps it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, TypeVar

import numpy as np
import pandas as pd


class Scenario(ABC):
    """Base class: `onset`, `ramp` and `strength` are public, named as in `__init__`."""

    name: ClassVar[str]

    def __init__(self, *, onset: int = 0, ramp: int = 10_000, strength: float = 1.0) -> None:
        if onset < 0:
            raise ValueError(f"onset must be >= 0, got {onset}")
        if ramp < 1:
            raise ValueError(f"ramp must be >= 1 event, got {ramp}")
        if not 0 <= strength <= 10:
            raise ValueError(f"strength must be in [0, 10], got {strength}")
        self.onset = onset
        self.ramp = ramp
        self.strength = strength

    def weight(self, index: np.ndarray) -> np.ndarray:
        """Share of the full drift applied to each event index: a step at `onset`."""
        return (np.asarray(index) >= self.onset).astype(np.float64)

    def pick(
        self, picked: np.ndarray, index: np.ndarray, source: pd.DataFrame,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Positions in `source` of the rows to send for events `index` (default: `picked`)."""
        return picked

    @abstractmethod
    def apply(
        self, rows: pd.DataFrame, index: np.ndarray, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Return the features to publish and the true price of each row."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(onset={self.onset}, ramp={self.ramp}, "
            f"strength={self.strength})"
        )


SCENARIOS: dict[str, type[Scenario]] = {}

S = TypeVar("S", bound=type[Scenario])


def register(cls: S) -> S:
    """Class decorator: make a scenario selectable by its `name` (`--scenario NAME`)."""
    if cls.name in SCENARIOS:
        raise ValueError(f"scenario name {cls.name!r} is already registered")
    SCENARIOS[cls.name] = cls
    return cls
