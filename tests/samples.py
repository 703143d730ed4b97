"""Sample data the unit tests share (import it: `from tests.samples import GOOD_EVENT, event`).

- `T0`, `GOOD_EVENT`, `event(**changes)`: one valid event in the contract's field order, and a
  fresh copy of it with some fields changed (or made invalid).
- `two_rows()`: two priced diamonds, the smallest input of the producer's `EventGenerator`.
- `StubModel`: what the consumer's pipeline needs from a loaded model, around any `pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in epoch ms
GOOD_EVENT: dict[str, Any] = {"event_id": "e-1", "carat": 0.31, "cut": "Ideal", "color": "E",
                              "clarity": "SI1", "depth": 61.5, "table": 55.0, "event_time": T0}


def event(**changes: Any) -> dict[str, Any]:
    return {**GOOD_EVENT, **changes}


def two_rows() -> pd.DataFrame:
    """A fresh frame each call (tests may mutate it)."""
    return pd.DataFrame({
        "carat": [0.3, 1.1], "cut": ["Ideal", "Good"], "color": ["E", "J"],
        "clarity": ["SI1", "VS2"], "depth": [61.0, 62.5], "table": [55.0, 58.0],
        "price": [500, 4200],
    })


@dataclass(frozen=True)
class StubModel:
    """`consumer.pipeline.ModelLike` without an artifact on disk."""

    pipeline: Any
    version: str = "stub-1"
    model_type: str = "stub"
    sha256: str = "0" * 64
