"""Label-free performance estimation: the estimate, its band and its alarm, against hand
computations; the reference built from cross-fitted estimates and its JSON round trip."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from drift import MissingColumnError, ProfileError
from drift.estimation import (
    EstimationReference,
    PerformanceEstimator,
    WindowCheck,
    base_tilt,
    break_even,
)
from drift.estimation.alarm import FLAG, directions
from drift.sequential import STARTED
from drift.sequential.calibrate import bank_key


class ColumnLoss:
    """A loss model that reads the estimated loss from the frame's ``loss`` column."""

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["loss"].to_numpy(dtype=np.float64)


def two_bins(*, c: float = 1.0) -> EstimationReference:
    """Two equally likely bins of estimated loss, below and above 100, means 50 and 150."""
    reference = EstimationReference(
        mae=100.0, rmse=150.0, mean_estimate=100.0, kappa=2.0, n=10_000, edges=(100.0,),
        p0=(0.5, 0.5), bin_means=(50.0, 150.0), alarm_ratio=1.2, constant=None,
        windows=WindowCheck(size=1000, count=10, median_abs_pct=1.0, ratio_sd=0.01),
    )
    dirs = directions(reference, 1.2)
    return reference.with_constant((bank_key(np.array([0.5, 0.5]), dirs, 0.0), c))


def frame(losses: list[float] | np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"loss": np.asarray(losses, dtype=np.float64), "prediction": 1.0})


def test_break_even_and_base_tilt_match_a_hand_computation() -> None:
    p0, g = np.array([0.5, 0.5]), np.array([0.5, 1.5])
    theta = math.log(4)  # e^(0.5 theta) = 2, e^(1.5 theta) = 8: Z = (2 + 8) / 2 = 5
    assert break_even(p0, g, theta) == pytest.approx(math.log(5) / math.log(4))
    assert base_tilt(p0, g, math.log(5) / math.log(4)) == pytest.approx(theta)
    with pytest.raises(ProfileError, match="alarm_ratio"):
        base_tilt(p0, g, 1.5)  # no tilt breaks even at the top bin's mean


def test_estimate_rmse_ratio_and_band_by_hand() -> None:
    estimator = PerformanceEstimator(two_bins(), ColumnLoss(), sample_every=1)
    estimator.update(frame([50, 150, 250, 350] * 4))
    result = estimator.evaluate()
    squares = 4 * (50**2 + 150**2 + 250**2 + 350**2)  # 840,000
    assert result.n_events == 16 and result.n_seen == 16
    assert result.mae == pytest.approx(200.0)
    assert result.mae_ratio == pytest.approx(2.0)
    assert result.rmse == pytest.approx(math.sqrt(2.0 * squares / 16))  # kappa * mean(loss^2)
    assert result.rmse_ratio == pytest.approx(math.sqrt(2.0 * squares / 16) / 150.0)
    half = 1.959963984540054 * math.sqrt((2.0 - 1.0) * squares) / 16  # 112.2
    assert (result.mae_low, result.mae_high) == pytest.approx((200.0 - half, 200.0 + half))
    empty = estimator.evaluate()  # nothing since: NaN, and null in the record
    assert empty.n_events == 0 and math.isnan(empty.mae) and empty.to_dict()["mae"] is None


def test_alarm_fires_at_the_hand_computed_block() -> None:
    # c = 1 and gamma = e^5: h = min(5, log(3 e^5)) = 5 nats
    estimator = PerformanceEstimator(two_bins(c=1.0), ColumnLoss(), gamma=math.exp(5),
                                     sample_every=1, predict_rows=1)
    assert estimator.flag.bank.h == pytest.approx(5.0)
    p0, g = np.array([0.5, 0.5]), np.array([0.5, 1.5])
    theta = base_tilt(p0, g, 1.2)
    # every event in the top bin: each member adds theta_k * 1.5 - log Z(theta_k) per event
    per_event = [
        t * 1.5 - math.log(0.5 * math.exp(0.5 * t) + 0.5 * math.exp(1.5 * t))
        for t in (theta, 2 * theta, 4 * theta)
    ]
    blocks = math.ceil(5.0 / (16 * max(per_event)))
    new = estimator.update(frame(np.full(1000, 150.0)))
    assert [(t.flag, t.kind, t.event) for t in new] == [(FLAG, STARTED, 16 * blocks - 1)]
    state = estimator.evaluate()
    assert state.drift_detected and state.transitions == tuple(new)
    assert state.flag.since == 16 * blocks - 1


def test_every_fourth_event_of_the_stream_is_estimated_whatever_the_batches() -> None:
    """Losses equal to the row's position: the sampled ones are positions 0, 4, 8, ...; they
    wait for `predict_rows` (or `evaluate`); the alarm's event is a stream index."""
    calls: list[int] = []

    class Counting(ColumnLoss):
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            calls.append(len(frame))
            return super().predict(frame)

    estimator = PerformanceEstimator(two_bins(c=1.0), Counting(), gamma=math.exp(5))
    assert (estimator.sample_every, estimator.predict_rows) == (4, 1024)
    positions = np.arange(23, dtype=np.float64)
    for lo, hi in ((0, 3), (3, 10), (10, 11), (11, 23)):  # uneven batches
        assert estimator.update(frame(positions[lo:hi])) == []
    assert calls == []  # 6 sampled rows wait
    result = estimator.evaluate()
    assert calls == [6]
    assert result.n_events == 6 and result.mae == pytest.approx(np.mean([0, 4, 8, 12, 16, 20]))
    estimator.update(frame(np.full(4 * 1024, 100.0)))
    assert calls == [6, 1024]  # a full predict's worth: estimated at once
    every = PerformanceEstimator(two_bins(c=1.0), ColumnLoss(), gamma=math.exp(5),
                                 sample_every=1, predict_rows=1)
    sampled = PerformanceEstimator(two_bins(c=1.0), ColumnLoss(), gamma=math.exp(5))
    raised = every.update(frame(np.full(1000, 150.0)))[0].event
    assert sampled.update(frame(np.full(4 * 1024, 150.0)))[0].event == 4 * raised


def test_below_the_alarm_ratio_nothing_climbs() -> None:
    # estimated MAE 1.1x the reference (bins 50 and 150 at 0.4 / 0.6): above the reference
    # and detectable, but not the "materially worse" the alarm is for
    rng = np.random.default_rng(0)
    estimator = PerformanceEstimator(two_bins(), ColumnLoss())
    for _ in range(50):
        losses = np.where(rng.random(10_000) < 0.6, 150.0, 50.0)
        assert estimator.update(frame(losses)) == []
    result = estimator.evaluate()
    assert result.mae_ratio == pytest.approx(1.1, abs=0.01) and not result.drift_detected


def test_a_quiet_stream_and_a_cheaper_one_raise_no_alarm() -> None:
    rng = np.random.default_rng(1)
    estimator = PerformanceEstimator(two_bins(), ColumnLoss())
    for share in (0.5, 0.1):  # the reference mix, then mostly cheap stones
        for _ in range(20):
            losses = np.where(rng.random(10_000) < share, 150.0, 50.0)
            assert estimator.update(frame(losses)) == []
    assert not estimator.evaluate().drift_detected


def test_the_alarm_clears_when_the_estimate_returns_and_reset_lowers_it() -> None:
    estimator = PerformanceEstimator(two_bins(), ColumnLoss(), predict_rows=1)
    raised = estimator.update(frame(np.full(2000, 150.0)))
    assert [t.kind for t in raised] == [STARTED]
    rng = np.random.default_rng(2)
    ended = []
    for _ in range(100):
        ended += estimator.update(frame(np.where(rng.random(10_000) < 0.5, 150.0, 50.0)))
        if ended:
            break
    assert [t.kind for t in ended] == ["drift_ended"]
    estimator.update(frame(np.full(2000, 150.0)))
    estimator.reset()
    state = estimator.evaluate()
    assert not state.drift_detected and state.n_seen == 0 and state.transitions == ()


def test_bad_input_and_parameters() -> None:
    estimator = PerformanceEstimator(two_bins(), ColumnLoss())
    with pytest.raises(MissingColumnError, match="prediction"):
        estimator.update(pd.DataFrame({"loss": [1.0]}))
    with pytest.raises(ValueError, match="gamma"):
        PerformanceEstimator(two_bins(), ColumnLoss(), gamma=1.0)
    with pytest.raises(ValueError, match="sample_every"):
        PerformanceEstimator(two_bins(), ColumnLoss(), sample_every=0)
    with pytest.raises(ValueError, match="predict_rows"):
        PerformanceEstimator(two_bins(), ColumnLoss(), predict_rows=0)
    assert estimator.add_losses(np.array([np.nan, np.inf])) == []
    assert estimator.evaluate().n_events == 0


def test_reference_from_cross_fitted_estimates_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    scale = rng.lognormal(5.0, 0.5, 20_000)  # per-row error scale: the loss model's estimate
    realized = np.abs(rng.normal(0.0, scale * math.sqrt(math.pi / 2)))  # E|e| = scale
    reference = EstimationReference.build(scale, realized, windows=50)
    assert reference.mae == pytest.approx(float(realized.mean()))
    assert reference.mean_estimate == pytest.approx(float(scale.mean()))
    assert reference.kappa == pytest.approx(math.pi / 2, rel=0.05)  # normal errors: pi / 2
    assert sum(reference.p0) == pytest.approx(1.0) and len(reference.p0) == 24
    assert reference.constant is not None and reference.constant[1] > 0
    assert reference.windows.median_abs_pct < 10
    path = tmp_path / "loss_reference.json"
    reference.save(path)
    assert EstimationReference.load(path) == reference
    with pytest.raises(ProfileError, match="constant"):
        EstimationReference.build(np.ones(500), np.ones(500))


def test_a_stored_constant_is_used_and_another_ratio_simulates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="drift")
    reference = two_bins(c=1.0)
    PerformanceEstimator(reference, ColumnLoss())
    assert "simulating" not in caplog.text
    estimator = PerformanceEstimator(reference, ColumnLoss(), alarm_ratio=1.3)
    assert "simulating" in caplog.text
    assert estimator.flag.bank.h > 0
