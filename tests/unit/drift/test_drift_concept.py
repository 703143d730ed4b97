"""ConceptDriftMonitor: error level against the held-out reference, with a sequential detector."""

from __future__ import annotations

import json

import numpy as np
import pytest
from drift_testdata import CATEGORIES, NUMERIC, MakeFrame

from drift import ConceptDriftMonitor, ProfileError, ReferenceProfile

SIGMA = 500.0  # spread of the reference residuals (the profile fixture's)


def _labels(seed: int, n: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_pred = rng.uniform(500.0, 15_000.0, n)
    return y_pred + rng.normal(0.0, SIGMA * scale, n), y_pred


def _feed(monitor: ConceptDriftMonitor, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    for start in range(0, y_true.size, 250):  # labels arrive in batches
        monitor.update(y_true[start:start + 250], y_pred[start:start + 250])


@pytest.mark.parametrize("detector", ["page_hinkley", "adwin"])
def test_stationary_errors_raise_no_flag(profile: ReferenceProfile, detector: str) -> None:
    monitor = ConceptDriftMonitor(profile, detector=detector)  # type: ignore[arg-type]
    _feed(monitor, *_labels(1, 20_000))
    report = monitor.evaluate()
    assert report.n_labels == 1000 and monitor.n_seen == 20_000
    assert report.mae_ratio == pytest.approx(1.0, abs=0.1)
    assert report.rmse_ratio == pytest.approx(1.0, abs=0.1)
    assert not report.detector_alarm and report.n_alarms == 0 and not report.drift_detected


@pytest.mark.parametrize(("detector", "alarm_after"), [("page_hinkley", 132), ("adwin", 55)])
def test_doubled_errors_are_flagged(
    profile: ReferenceProfile, detector: str, alarm_after: int
) -> None:
    monitor = ConceptDriftMonitor(profile, detector=detector)  # type: ignore[arg-type]
    _feed(monitor, *_labels(2, 5000))
    y_true, y_pred = _labels(3, 1000, scale=2.0)
    alarms = []  # label by label: the first label after the change at which the alarm shows
    for i in range(1000):
        monitor.update(y_true[i:i + 1], y_pred[i:i + 1])
        alarms.append(monitor.evaluate().detector_alarm)
    assert alarms.index(True) == alarm_after
    report = monitor.evaluate()
    assert report.mae_ratio == pytest.approx(2.0, abs=0.15) and report.mae_ratio > 1.5
    assert report.detector_alarm and report.drift_detected and report.detector_name == detector


def test_the_ratio_alone_flags_once_the_window_is_long_enough(profile: ReferenceProfile) -> None:
    # a detector that never fires isolates the window ratio
    monitor = ConceptDriftMonitor(profile, min_window=100, threshold=1e12)
    y_true, y_pred = _labels(4, 99, scale=2.0)
    monitor.update(y_true, y_pred)
    assert monitor.evaluate().mae_ratio > 1.5 and not monitor.evaluate().drift_detected
    monitor.update(*_labels(5, 1, scale=2.0))
    report = monitor.evaluate()
    assert report.n_labels == 100 and report.drift_detected and not report.detector_alarm


def test_the_alarm_stays_latched_until_reset(profile: ReferenceProfile) -> None:
    monitor = ConceptDriftMonitor(profile)
    _feed(monitor, *_labels(6, 2000))
    _feed(monitor, *_labels(7, 1000, scale=3.0))
    _feed(monitor, *_labels(8, 3000))  # back to normal: the window recovers, the latch holds
    report = monitor.evaluate()
    assert report.mae_ratio < 1.5 and report.detector_alarm and report.drift_detected
    monitor.reset()
    after = monitor.evaluate()
    assert not after.detector_alarm and after.n_labels == 0 and not after.drift_detected


def test_empty_window_and_json(profile: ReferenceProfile) -> None:
    data = ConceptDriftMonitor(profile).evaluate().to_dict()
    assert data["mae"] is None and data["mae_ratio"] is None and data["drift_detected"] is False
    assert data["reference_mae"] == pytest.approx(SIGMA * np.sqrt(2 / np.pi), rel=0.03)
    json.dumps(data, allow_nan=False)


def test_non_finite_pairs_are_skipped_and_lengths_must_match(profile: ReferenceProfile) -> None:
    monitor = ConceptDriftMonitor(profile)
    monitor.update(np.array([1.0, np.nan, 3.0]), np.array([1.5, 2.0, np.inf]))
    assert monitor.window_fill == 1 and monitor.evaluate().mae == 0.5
    with pytest.raises(ValueError, match="differ in length: 2 != 3"):
        monitor.update(np.zeros(2), np.zeros(3))


def test_a_profile_without_reference_errors_is_refused(make: MakeFrame) -> None:
    frame = make(np.random.default_rng(1), 300)
    bare = ReferenceProfile.build(
        frame, numeric=NUMERIC, categorical=list(CATEGORIES), window_size=50,
        calibration_windows=10,
    )
    with pytest.raises(ProfileError, match="reference_errors"):
        ConceptDriftMonitor(bare)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_size": -1}, "window_size must be >= 1"),
        ({"min_window": 0}, r"min_window must be in \[1, window_size=1000\]"),
        ({"min_window": 1001}, r"min_window must be in \[1, window_size=1000\]"),
        ({"ratio_threshold": 1.0}, "ratio_threshold must be > 1"),
        ({"detector": "cusum"}, r"detector must be one of \['adwin', 'page_hinkley'\]"),
        ({"detector": "adwin", "threshold": 3.0}, "bad parameter for detector 'adwin'"),
        ({"delta": -1.0}, "delta must be >= 0"),
    ],
)
def test_bad_parameters_raise_value_error(
    profile: ReferenceProfile, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ConceptDriftMonitor(profile, **kwargs)  # type: ignore[arg-type]
