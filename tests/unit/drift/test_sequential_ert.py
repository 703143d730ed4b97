"""Expected run time without drift (ERT), checked by simulation on held-out rows (bootstrap).

Calibrated thresholds (the default) hit the configured ERT; the union bound
``h = log(K * gamma)`` (``calibrate=False``) guarantees ``ERT >= gamma`` blocks (``BLOCK * gamma``
events, `drift.sequential.bank`) and overshoots that by a factor ~60 here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drift import ReferenceProfile
from drift.sequential import SequentialConcept, SequentialMonitor
from drift.sequential.bank import BLOCK

pytestmark = pytest.mark.slow
RUNS = 200


def _run_lengths(
    monitor: SequentialMonitor, name: str, holdout: pd.DataFrame, seed: int, batch: int = 1024
) -> np.ndarray:
    """Events to the first alarm of one flag, over `RUNS` streams drawn from `holdout`."""
    flag = monitor.features[name]
    codes = monitor._binned[name].encode(holdout[name])  # noqa: SLF001 - one flag alone
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(RUNS):
        flag.reset()
        n = 0
        while True:
            drawn = codes[rng.integers(0, codes.size, batch)]
            raised = flag.update(drawn, n)
            if raised:
                runs.append(raised[0].event + 1)
                break
            n += drawn.size
    return np.asarray(runs)


@pytest.mark.parametrize(("name", "gamma"), [("carat", 2000.0), ("cut", 300.0)])
def test_calibrated_ert_on_held_out_rows_matches_gamma(
    profile: ReferenceProfile, reference_data: tuple[pd.DataFrame, pd.DataFrame], name: str,
    gamma: float,
) -> None:
    monitor = SequentialMonitor(profile, gamma=gamma)
    runs = _run_lengths(monitor, name, reference_data[1], seed=17)
    ert = float(runs.mean())
    assert 0.7 * gamma <= ert <= 1.3 * gamma
    # run lengths are about geometric: the median is ~ln 2 of the mean
    assert 0.5 <= float(np.median(runs)) / ert <= 0.85


def test_the_union_bound_keeps_its_promise(
    profile: ReferenceProfile, reference_data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    monitor = SequentialMonitor(profile, gamma=300.0, calibrate=False)
    ert = float(_run_lengths(monitor, "depth", reference_data[1], seed=19, batch=8192).mean())
    assert BLOCK * 300.0 <= ert <= 200 * BLOCK * 300.0


def test_calibrated_thresholds_grow_as_log_gamma(profile: ReferenceProfile) -> None:
    """Slope 1 in log gamma (the extrapolation), below the union bound."""
    low = SequentialMonitor(profile, gamma=1e3).features["carat"].bank
    high = SequentialMonitor(profile, gamma=3e9).features["carat"].bank
    assert high.h - low.h == pytest.approx(np.log(3e9 / 1e3))
    assert high.h < np.log(high.size * 3e9)


def test_a_quiet_stream_of_ten_million_events_at_the_default_gamma(
    profile: ReferenceProfile,
) -> None:
    """Bin codes drawn from the reference probabilities (the bound's own premise)."""
    flag = SequentialMonitor(profile).features["depth"]
    rng = np.random.default_rng(23)
    cdf = np.cumsum(flag.bank.p0)
    seen = 0
    while seen < 10_000_000:
        codes = np.minimum(np.searchsorted(cdf, rng.random(65_536)), cdf.size - 1)
        assert flag.update(codes, seen) == []
        seen += codes.size
    assert flag.statistic < flag.bank.h / 2


def test_calibrated_ert_of_the_concept_flag_matches_gamma(profile: ReferenceProfile) -> None:
    """Level, tail and size directions together; errors drawn from the held-out bins."""
    flag = SequentialConcept(profile, gamma=2000.0).flag
    rng = np.random.default_rng(29)
    cdf = np.cumsum(flag.bank.p0)
    runs = []
    for _ in range(RUNS):
        flag.reset()
        n = 0
        while True:
            codes = np.minimum(np.searchsorted(cdf, rng.random(1024)), cdf.size - 1)
            raised = flag.update(codes, n)
            if raised:
                runs.append(raised[0].event + 1)
                break
            n += codes.size
    assert 0.7 * 2000.0 <= float(np.mean(runs)) <= 1.3 * 2000.0


def test_calibrated_ert_of_the_relative_concept_flag_matches_gamma(
    relative_reference: tuple[ReferenceProfile, np.ndarray, np.ndarray],
) -> None:
    """Level, bias, tail and size directions; relative errors drawn from the held-out ones."""
    profile, predictions, residuals = relative_reference
    concept = SequentialConcept(profile, gamma=2000.0)
    assert concept.relative
    flag = concept.flag
    codes = concept._binned.encode(residuals / predictions)  # noqa: SLF001 - one flag alone
    rng = np.random.default_rng(31)
    runs = []
    for _ in range(RUNS):
        flag.reset()
        n = 0
        while True:
            drawn = codes[rng.integers(0, codes.size, 1024)]
            raised = flag.update(drawn, n)
            if raised:
                runs.append(raised[0].event + 1)
                break
            n += drawn.size
    ert = float(np.mean(runs))
    assert 0.7 * 2000.0 <= ert <= 1.3 * 2000.0
    assert 0.5 <= float(np.median(runs)) / ert <= 0.85
