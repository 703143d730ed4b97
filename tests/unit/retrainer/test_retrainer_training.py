"""The data policy: the newest rows held out, the reference share, a candidate that learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consumer.pipeline.scoring import ThreadCap
from model.features import FEATURES, TARGET
from retrainer.training import TrainingPolicy, reference_sample, split_recent, train_candidate
from retrainer.window import LabelledRow

ROW = (0.5, 61.5, 55.0, "Ideal", "E", "SI1")  # in FEATURES order


def rows(event_times: list[int]) -> list[LabelledRow]:
    return [LabelledRow(f"e{i}", ROW, float(i), t, i) for i, t in enumerate(event_times)]


def test_the_newest_rows_by_event_time_are_held_out() -> None:
    # joined out of event-time order; ties broken by join order
    recent, holdout = split_recent(rows([5, 1, 9, 3, 9, 7, 2, 8, 4, 6]), 0.2)
    assert holdout[TARGET].tolist() == [2.0, 4.0]  # event times 9, 9 in join order
    assert sorted(recent[TARGET].tolist()) == [0.0, 1.0, 3.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert list(holdout.columns) == [*FEATURES, TARGET]


def test_at_least_one_row_is_held_out() -> None:
    recent, holdout = split_recent(rows([1, 2, 3]), 0.01)
    assert (len(recent), len(holdout)) == (2, 1)


def test_the_reference_share_of_the_training_set() -> None:
    reference = pd.DataFrame({**{f: [ROW[i]] * 1000 for i, f in enumerate(FEATURES)},
                              TARGET: np.arange(1000.0)})
    assert len(reference_sample(800, 0.2, reference, seed=1)) == 200  # 200 / (800 + 200)
    assert len(reference_sample(800, 0.0, reference, seed=1)) == 0
    assert len(reference_sample(800, 0.9, reference, seed=1)) == 1000  # at most all of it
    first = reference_sample(100, 0.5, reference, seed=3)
    assert first.equals(reference_sample(100, 0.5, reference, seed=3))  # seeded


@pytest.mark.parametrize("bad", [{"holdout_fraction": 0.0}, {"reference_fraction": 1.0}])
def test_bad_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainingPolicy(**bad)  # type: ignore[arg-type]


def test_a_candidate_learns_the_new_prices_and_beats_the_old_model() -> None:
    rng = np.random.default_rng(0)
    n = 1200
    carat = rng.uniform(0.3, 2.0, n)
    old_price = 4000 * carat

    class OldModel:  # priced before the shift
        class pipeline:  # noqa: N801 - mimics ModelArtifact.pipeline
            @staticmethod
            def predict(frame: pd.DataFrame) -> np.ndarray:
                return 4000 * frame["carat"].to_numpy()

    labelled = [LabelledRow(f"e{i}", (carat[i], *ROW[1:]),
                            float(1.5 * old_price[i]), 1000 + i, i) for i in range(n)]
    policy = TrainingPolicy(reference_fraction=0.0, drift_window_size=50)
    with ThreadCap(1)():  # as the worker trains
        result = train_candidate(labelled, OldModel(), policy)  # type: ignore[arg-type]
    assert (result.n_recent, result.n_reference, result.n_holdout) == (960, 0, 240)
    assert result.candidate_mae < 0.2 * result.champion_mae
    assert result.candidate.metadata["split"]["source"] == "retrain"
    assert result.scores()["holdout_mae_champion"] == result.champion_mae
