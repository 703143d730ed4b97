"""`DriftFlag`: raised at the exact event, cleared after the data return, reset on demand."""

from __future__ import annotations

import numpy as np
import pytest

from drift.sequential import ENDED, STARTED, Direction, DriftFlag

P0 = np.full(10, 0.1)
SCORES = np.linspace(-1.0, 1.0, 10)
DIRECTIONS = (Direction("location", SCORES, (-0.8, -0.4, -0.2, 0.2, 0.4, 0.8)),)


def _flag(**kwargs: float) -> DriftFlag:
    return DriftFlag("x", P0, DIRECTIONS, h=14.0, clear_h=10.0, **kwargs)


def _stream(rng: np.random.Generator, quiet: int, shifted: int, back: int) -> np.ndarray:
    p1 = P0 * np.exp(0.6 * SCORES)
    return np.concatenate([
        rng.choice(10, quiet, p=P0), rng.choice(10, shifted, p=p1 / p1.sum()),
        rng.choice(10, back, p=P0),
    ])


def test_raised_during_the_shift_and_cleared_after_it() -> None:
    rng = np.random.default_rng(3)
    codes = _stream(rng, 2000, 3000, 6000)
    flag = _flag()
    transitions = []
    for lo in range(0, codes.size, 700):
        transitions += flag.update(codes[lo:lo + 700], lo)
    kinds = [t.kind for t in transitions]
    assert kinds == [STARTED, ENDED]
    started, ended = transitions
    assert 2000 <= started.event < 2500
    assert started.detector.startswith("location+")
    assert started.statistic >= 14.0
    assert 5000 <= ended.event
    assert not flag.drifting and flag.since is None or flag.since == started.event


def test_clearing_takes_about_the_expected_number_of_events() -> None:
    delays = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        codes = _stream(rng, 0, 2000, 20_000)
        flag = _flag()
        events = flag.update(codes, 0)
        assert [t.kind for t in events] == [STARTED, ENDED]
        delays.append((events[1].event - 2000) / flag.expected_clear_events)
    # about clear_h / KL: the reverse statistic starts where the drift left it (not always 0)
    assert 0.5 <= float(np.mean(delays)) <= 1.5


def test_alarm_event_does_not_depend_on_batching() -> None:
    codes = _stream(np.random.default_rng(9), 1000, 4000, 0)
    whole = _flag().update(codes, 0)
    pieces = _flag()
    split = []
    for lo in range(0, codes.size, 1):
        if lo % 97 == 0:
            split += pieces.update(codes[lo:lo + 97], lo)
    assert [t.event for t in whole] == [t.event for t in split]
    assert whole


def test_reset_lowers_the_flag_and_restarts_the_statistics() -> None:
    flag = _flag()
    flag.update(_stream(np.random.default_rng(4), 0, 3000, 0), 0)
    assert flag.drifting
    flag.reset()
    assert not flag.drifting and flag.statistic == 0.0 and flag.since is None
    assert flag.threshold == flag.bank.h


def test_a_drift_that_persists_is_not_cleared() -> None:
    rng = np.random.default_rng(8)
    flag = _flag()
    events = flag.update(_stream(rng, 0, 200_000, 0), 0)
    assert [t.kind for t in events] == [STARTED]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"clear_ratio": 0.0}, "clear_ratio"), ({"clear_ratio": 1.5}, "clear_ratio"),
])
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _flag(**kwargs)
    with pytest.raises(ValueError, match="clear_h"):
        DriftFlag("x", P0, DIRECTIONS, h=10.0, clear_h=0.0)
