"""PageHinkley and ADWIN on seeded streams: exact alarm indices, silence when stationary."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from drift import ADWIN, PageHinkley
from drift.base import DriftDetector

K = 1000  # the mean shifts at this index


def _shifted(seed: int = 42) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 0.3, K), rng.normal(0.5, 0.3, K)])


def _stationary(seed: int = 43) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.3, 2 * K)


def _alarms(detector: DriftDetector, values: np.ndarray) -> list[int]:
    found = []
    for i, x in enumerate(values):
        detector.update(float(x))
        if detector.drift_detected:
            found.append(i)
    return found


def test_page_hinkley_alarms_at_a_pinned_index_after_the_shift() -> None:
    alarms = _alarms(PageHinkley(), _shifted())
    assert alarms == [1096]
    assert K < alarms[0] <= K + 150


def test_page_hinkley_stays_silent_on_a_stationary_stream() -> None:
    assert _alarms(PageHinkley(), _stationary()) == []


def test_page_hinkley_resets_after_an_alarm_and_finds_the_next_change() -> None:
    rng = np.random.default_rng(44)
    stream = np.concatenate([rng.normal(m, 0.3, K) for m in (0.0, 0.5, 1.0)])
    detector = PageHinkley()
    assert detector.update_many(stream) == [1110, 2079]
    assert detector.n == 3 * K - 2079 - 1  # counted since the reset after the last alarm


def test_page_hinkley_modes() -> None:
    rng = np.random.default_rng(45)
    falling = np.concatenate([rng.normal(1.0, 0.3, K), rng.normal(0.5, 0.3, K)])
    assert PageHinkley().update_many(falling) == []  # "up" ignores a decrease
    assert PageHinkley(mode="down").update_many(falling) == [1087]
    assert PageHinkley(mode="both").update_many(falling) == [1087]
    assert PageHinkley(mode="both").update_many(_shifted()) == [1096]


def test_page_hinkley_waits_for_min_instances() -> None:
    detector = PageHinkley(threshold=1.0, min_instances=30)
    assert detector.update_many([0.0] * 5 + [100.0] * 30) == [29]


def test_adwin_alarms_at_a_pinned_index_after_the_shift() -> None:
    detector = ADWIN()
    alarms = []
    for i, x in enumerate(_shifted()):
        detector.update(float(x))
        if detector.drift_detected:
            alarms.append(i)
            # at the alarm the stale part of the window was dropped: 128 of the 1056 values
            # remain, 56 of them from after the shift
            assert (detector.width, detector.n) == (128, 1056)
            assert detector.estimation == pytest.approx(0.229, abs=1e-3)
    assert alarms == [1055]  # checks run every `clock` = 32 values: 1056 = 33 * 32
    assert K < alarms[0] <= K + 150


def test_adwin_stays_silent_on_a_stationary_stream() -> None:
    assert _alarms(ADWIN(), _stationary()) == []


def test_adwin_resets_after_an_alarm_and_finds_the_next_change() -> None:
    rng = np.random.default_rng(44)
    stream = np.concatenate([rng.normal(m, 0.3, K) for m in (0.0, 0.5, 1.0)])
    assert ADWIN().update_many(stream) == [1055, 2047]


def test_adwin_buckets_summarise_the_window_exactly() -> None:
    values = np.random.default_rng(46).normal(3.0, 2.0, 1000)
    detector = ADWIN(max_buckets=5)
    detector.update_many(values)
    assert not detector.drift_detected and detector.width == detector.n == 1000
    assert detector.total == pytest.approx(values.sum(), rel=1e-12)
    assert detector.variance == pytest.approx(values.var() * values.size, rel=1e-9)
    rows = detector._totals
    assert sum(len(row) << i for i, row in enumerate(rows)) == 1000
    assert all(len(row) <= 5 for row in rows) and len(rows) <= 9  # ~log2(1000 / 5) rows


def test_drift_detected_is_read_only() -> None:
    detector = PageHinkley()
    with pytest.raises(AttributeError):
        detector.drift_detected = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: PageHinkley(delta=-0.1), "delta must be >= 0"),
        (lambda: PageHinkley(threshold=0), "threshold must be > 0"),
        (lambda: PageHinkley(alpha=0), r"alpha must be in \(0, 1\]"),
        (lambda: PageHinkley(alpha=1.1), r"alpha must be in \(0, 1\]"),
        (lambda: PageHinkley(min_instances=0), "min_instances must be >= 1"),
        (lambda: PageHinkley(mode="sideways"), "mode must be 'up', 'down' or 'both'"),  # type: ignore[arg-type]
        (lambda: ADWIN(delta=0), r"delta must be in \(0, 1\)"),
        (lambda: ADWIN(delta=1), r"delta must be in \(0, 1\)"),
        (lambda: ADWIN(clock=0), "clock must be >= 1"),
        (lambda: ADWIN(max_buckets=1), "max_buckets must be >= 2"),
        (lambda: ADWIN(min_window_length=0), "min_window_length must be >= 1"),
        (lambda: ADWIN(grace_period=-1), "grace_period must be >= 0"),
    ],
)
def test_bad_detector_parameters_raise_value_error(
    factory: Callable[[], DriftDetector], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        factory()
