"""Training a candidate on the window: the data policy, the held-out slice, both scores.

The policy, on a snapshot of the labelled rows ordered by (event_time, join order):

* held-out slice: the newest `holdout_fraction` of the rows (at least one row). It is never
  trained on; the candidate and the champion are both scored on it (MAE), and the candidate's
  drift profile and loss model are calibrated on it (so its reference errors are those of the
  current stream).
* training rows: the older rows, plus a sample of the original training split
  (`model.data.split` of data/diamonds.csv) making up `reference_fraction` of the training
  set: ``n_reference = round(n_recent * f / (1 - f))``, at most the split's size, drawn with a
  seeded generator. The recent rows say what prices are now; the reference rows keep stones
  that the recent window happens to lack in the model's range. 0 trains on recent rows only.

The candidate is built by `model.train_job.build_candidate`, the code `make train` runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from model.artifact import ModelArtifact
from model.data import load_diamonds, split
from model.features import FEATURES, TARGET
from model.train_job import Candidate, build_candidate
from model.training import ModelType
from retrainer.window import ORDER_COLUMNS, LabelledRow, rows_frame


@dataclass(frozen=True)
class TrainingPolicy:
    holdout_fraction: float = 0.2
    reference_fraction: float = 0.1
    model_type: ModelType = "hgb"
    drift_window_size: int = 2000
    seed: int = 42

    def __post_init__(self) -> None:
        if not 0 < self.holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if not 0 <= self.reference_fraction < 1:
            raise ValueError(
                f"reference_fraction must be in [0, 1), got {self.reference_fraction}"
            )


@dataclass(frozen=True)
class TrainingResult:
    candidate: Candidate
    candidate_mae: float
    champion_mae: float
    n_recent: int
    n_reference: int
    n_holdout: int

    def scores(self) -> dict[str, float | int]:
        return {
            "holdout_mae_candidate": self.candidate_mae,
            "holdout_mae_champion": self.champion_mae,
            "n_recent": self.n_recent, "n_reference": self.n_reference,
            "n_holdout": self.n_holdout,
        }


@cache
def reference_rows() -> pd.DataFrame:
    """The original training split (loaded once per process)."""
    train, _ = split(load_diamonds())
    return train.reset_index(drop=True)


def split_recent(rows: list[LabelledRow], holdout_fraction: float) -> tuple[pd.DataFrame,
                                                                            pd.DataFrame]:
    """(older rows to train on, newest `holdout_fraction` held out), features + price."""
    frame = rows_frame(rows).sort_values(list(ORDER_COLUMNS), kind="stable")
    n_holdout = max(1, math.ceil(len(frame) * holdout_fraction))
    columns = [*FEATURES, TARGET]
    return (frame.iloc[:-n_holdout][columns].reset_index(drop=True),
            frame.iloc[-n_holdout:][columns].reset_index(drop=True))


def reference_sample(
    n_recent: int, fraction: float, reference: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """The reference rows that make up `fraction` of a training set with `n_recent` rows."""
    n = min(len(reference), round(n_recent * fraction / (1 - fraction))) if fraction else 0
    picked = np.random.default_rng(seed).choice(len(reference), size=n, replace=False)
    return reference.iloc[np.sort(picked)][[*FEATURES, TARGET]].reset_index(drop=True)


def train_candidate(
    rows: list[LabelledRow], champion: ModelArtifact | None, policy: TrainingPolicy,
    *, reference: pd.DataFrame | None = None,
) -> TrainingResult:
    """Train on the window by the policy; score the candidate and the champion on the slice."""
    recent, holdout = split_recent(rows, policy.holdout_fraction)
    if reference is None:
        reference = reference_rows() if policy.reference_fraction else recent.iloc[:0]
    mixed = reference_sample(len(recent), policy.reference_fraction, reference, policy.seed)
    train_frame = pd.concat([recent, mixed], ignore_index=True)
    candidate = build_candidate(
        train_frame, holdout, model_type=policy.model_type,
        drift_window_size=policy.drift_window_size,
        split_info={"source": "retrain", "n_train": len(train_frame), "n_recent": len(recent),
                    "n_reference": len(mixed), "n_holdout": len(holdout),
                    "holdout_fraction": policy.holdout_fraction,
                    "reference_fraction": policy.reference_fraction},
    )
    truth = holdout[TARGET].to_numpy(dtype=float)
    champion_mae = float("nan")
    if champion is not None:
        predicted = np.asarray(champion.pipeline.predict(holdout[list(FEATURES)]), dtype=float)
        champion_mae = float(np.mean(np.abs(truth - predicted)))
    return TrainingResult(candidate, candidate.evaluation.mae, champion_mae, len(recent),
                          len(mixed), len(holdout))
