"""`SequentialMonitor` and `SequentialConcept`: states, transitions, reset, JSON, old profiles,
constants from the profile."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from drift_testdata import MakeFrame, fake_predictions

from drift import MissingColumnError, ProfileError, ReferenceProfile
from drift.profile import PREDICTION
from drift.sequential import (
    CONCEPT,
    DATASET,
    ENDED,
    STARTED,
    SequentialConcept,
    SequentialMonitor,
    calibrate,
)
from drift.sequential.bank import BLOCK


def _feed(monitor: SequentialMonitor, frame: pd.DataFrame, batch: int = 1000) -> None:
    for lo in range(0, len(frame), batch):
        monitor.update(frame.iloc[lo:lo + batch])


def test_a_quiet_stream_raises_nothing(profile: ReferenceProfile, make: MakeFrame) -> None:
    rng = np.random.default_rng(1)
    frame = make(rng, 60_000)
    frame["prediction"] = fake_predictions(frame, rng)
    monitor = SequentialMonitor(profile)
    _feed(monitor, frame)
    report = monitor.evaluate()
    assert report.transitions == ()
    assert not report.dataset.drift_detected and report.drifted_features == ()
    assert report.n_seen == 60_000
    assert all(s.statistic < s.threshold for s in report.features.values())


def test_a_shift_is_flagged_then_cleared_with_dataset_transitions(
    profile: ReferenceProfile, make: MakeFrame
) -> None:
    rng = np.random.default_rng(2)
    quiet, shifted, back = make(rng, 5000), make(rng, 5000, carat_scale=1.5), make(rng, 30_000)
    monitor = SequentialMonitor(profile)
    _feed(monitor, quiet)
    assert monitor.evaluate().transitions == ()
    _feed(monitor, shifted)
    report = monitor.evaluate()
    assert report.features["carat"].drift_detected and report.dataset.drift_detected
    assert report.dataset.detector == "carat"
    started = [t for t in report.transitions if t.kind == STARTED]
    assert [t.flag for t in started][:2] == ["carat", DATASET]
    assert 5000 <= started[0].event < 5500  # the exact event, not the end of a batch
    assert report.features["carat"].since == started[0].event
    _feed(monitor, back)
    report = monitor.evaluate()
    ended = [t for t in report.transitions if t.kind == ENDED]
    assert {t.flag for t in ended} >= {"carat", DATASET}
    assert not report.dataset.drift_detected
    assert all(10_000 <= t.event for t in ended)
    json.dumps(report.to_dict(), allow_nan=False)


def test_transitions_are_handed_over_once(profile: ReferenceProfile, make: MakeFrame) -> None:
    monitor = SequentialMonitor(profile)
    returned = monitor.update(make(np.random.default_rng(3), 4000, carat_scale=2.0))
    assert returned and monitor.evaluate().transitions == tuple(returned)
    assert monitor.evaluate().transitions == ()


def test_reset_lowers_every_flag(profile: ReferenceProfile, make: MakeFrame) -> None:
    monitor = SequentialMonitor(profile)
    monitor.update(make(np.random.default_rng(4), 4000, carat_scale=2.0))
    monitor.reset()
    report = monitor.evaluate()
    assert report.transitions == () and report.n_seen == 0
    assert not any(s.drift_detected for s in report.features.values())


def test_prediction_flag(profile: ReferenceProfile, make: MakeFrame) -> None:
    rng = np.random.default_rng(5)
    frame = make(rng, 4000)
    frame["prediction"] = fake_predictions(frame, rng) * 1.5
    monitor = SequentialMonitor(profile)
    monitor.update(frame)
    report = monitor.evaluate()
    assert report.prediction is not None and report.prediction.drift_detected
    assert report.drifted_features == ()


def test_missing_column(profile: ReferenceProfile, make: MakeFrame) -> None:
    frame = make(np.random.default_rng(6), 10).drop(columns=["cut"])
    with pytest.raises(MissingColumnError, match="cut"):
        SequentialMonitor(profile).update(frame)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"gamma": 1.0}, "gamma"), ({"clear_gamma": 0.5}, "clear_gamma"),
    ({"tolerance": -1.0}, "tolerance"), ({"reference_size": 0}, "reference_size"),
])
def test_bad_parameters(profile: ReferenceProfile, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SequentialMonitor(profile, **kwargs)


def _labels(rng: np.random.Generator, n: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    pred = rng.uniform(500, 15_000, n)
    return pred + rng.normal(0.0, 500.0 * scale, n), pred


def test_concept_flag_rises_and_clears(profile: ReferenceProfile) -> None:
    rng = np.random.default_rng(7)
    concept = SequentialConcept(profile)
    concept.update(*_labels(rng, 5000, 1.0))
    assert concept.evaluate().transitions == ()
    concept.update(*_labels(rng, 3000, 2.0))
    state = concept.evaluate()
    assert state.drift_detected and state.mae_ratio > 1.5
    assert [t.kind for t in state.transitions] == [STARTED]
    assert state.transitions[0].flag == CONCEPT and 5000 <= state.transitions[0].event < 6000
    concept.update(*_labels(rng, 20_000, 1.0))
    state = concept.evaluate()
    assert not state.drift_detected  # the concept flag no longer latches
    assert [t.kind for t in state.transitions] == [ENDED]
    json.dumps(state.to_dict(), allow_nan=False)
    concept.reset()
    assert concept.n_seen == 0 and not concept.evaluate().drift_detected


def test_one_absurd_label_moves_the_statistic_by_one_bounded_step(
    profile: ReferenceProfile,
) -> None:
    """It counts as a merely large error (the last bin), far from an alarm."""
    absurd, large = SequentialConcept(profile), SequentialConcept(profile)
    edges = profile.errors.abs_edges
    typical = float(edges[int(0.7 * len(edges))])  # the rest of the block: fairly large errors
    errors = np.full(BLOCK, typical)
    absurd.update(1000.0 + np.append(1e12, errors[1:]), np.full(BLOCK, 1000.0))
    large.update(1000.0 + np.append(2 * edges[-2], errors[1:]),
                 np.full(BLOCK, 1000.0))
    np.testing.assert_array_equal(absurd.flag.bank.w, large.flag.bank.w)
    statistic = absurd.evaluate().flag.statistic
    assert 0 < statistic < absurd.flag.bank.h / 2
    assert not absurd.evaluate().drift_detected


def test_concept_needs_a_format_2_profile(profile: ReferenceProfile) -> None:
    data = profile.to_dict() | {"format_version": 1}
    data["errors"] = {k: v for k, v in data["errors"].items() if not k.startswith("abs_")}
    old = ReferenceProfile.from_dict(data)  # format 1 still loads (the old monitors use it)
    with pytest.raises(ProfileError, match="absolute-error bins"):
        SequentialConcept(old)
    SequentialMonitor(old)  # data drift needs only the bins every format has


def test_the_default_reference_counts_the_held_out_sample_too(profile: ReferenceProfile) -> None:
    """Training and held-out rows together (format 3): a held-out replay differs from them by
    n_train / N of its own error, as a fresh sample of N * n_held / n_train rows would."""
    assert profile.errors is not None and profile.sequential is not None
    n_train, n_held = profile.n_reference, profile.errors.n
    assert (profile.sequential.n_rows, profile.sequential.n_holdout) == (n_train + n_held, n_held)
    expected = int((n_train + n_held) * n_held / n_train)
    assert SequentialMonitor(profile).reference_size == expected
    older = replace(profile, sequential=None)  # the training rows alone
    assert SequentialMonitor(older).reference_size == int(1 / (1 / n_train + 1 / n_held))
    fresh = SequentialMonitor(profile, reference_size=n_train + n_held)
    assert fresh.features["carat"].bank.slack < SequentialMonitor(profile).features[
        "carat"].bank.slack


def test_sequential_bins_sit_between_the_values_of_a_discrete_column(
    profile: ReferenceProfile,
) -> None:
    """``table`` takes whole numbers: half a step up moves rows into the next bin."""
    binned = SequentialMonitor(profile)._binned["table"]  # noqa: SLF001 - the encoding itself
    values = np.arange(50.0, 65.0)
    assert np.all(binned.encode(values + 0.5) >= binned.encode(values))
    assert np.any(binned.encode(values + 0.5) > binned.encode(values))
    assert SequentialMonitor(profile)._binned["carat"].p0.size == 20  # noqa: SLF001 - finer


def _no_simulation(*args: object, **kwargs: object) -> float:
    raise AssertionError("the monitor simulated a calibration constant")


def test_monitors_on_a_profile_built_at_training_time_simulate_nothing(
    profile: ReferenceProfile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "profile.json"
    profile.save(path)
    loaded = ReferenceProfile.load(path)
    assert loaded.sequential is not None and profile.sequential is not None
    assert set(loaded.sequential.constants) == {*profile.features, PREDICTION, CONCEPT}
    monkeypatch.setattr(calibrate, "probe_constant", _no_simulation)
    for source in (profile, loaded):
        monitor = SequentialMonitor(source, gamma=2000.0)
        SequentialConcept(source)
        assert monitor.features["carat"].bank.h == pytest.approx(
            np.log(2000.0 / profile.sequential.constants["carat"][1])
        )


def test_the_stored_constants_are_the_simulated_ones(profile: ReferenceProfile) -> None:
    calibrate._CACHE.clear()  # noqa: SLF001 - measure afresh
    assert profile.sequential is not None
    old = replace(profile, sequential=replace(profile.sequential, constants={}))
    fresh = SequentialMonitor(old, gamma=2000.0).features["carat"].bank.h
    assert fresh == SequentialMonitor(profile, gamma=2000.0).features["carat"].bank.h


def test_an_older_profile_or_other_settings_simulate_and_say_so(
    profile: ReferenceProfile, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []
    real = calibrate.probe_constant

    def spy(p0: np.ndarray, directions: tuple, slack: float) -> float:
        calls.append(slack)
        return real(p0, directions, slack)

    monkeypatch.setattr(calibrate, "probe_constant", spy)
    data = profile.to_dict() | {"format_version": 2}
    del data["sequential"]
    old = ReferenceProfile.from_dict(data)
    assert old.sequential is None
    with caplog.at_level(logging.INFO, logger="drift.sequential.calibrate"):
        SequentialMonitor(old)
    assert len(calls) == len(profile.features) + 1  # the features and the prediction
    assert "older profile" in caplog.text
    calls.clear()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="drift.sequential.calibrate"):
        SequentialMonitor(profile, tolerance=3.0)
    assert len(calls) == len(profile.features) + 1
    assert "non-default settings" in caplog.text
