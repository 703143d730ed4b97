"""Calibrate a bank's threshold to a target ERT by simulation at a short ERT and extrapolation.

The union bound ``h = log(K * gamma)`` ignores that the K CUSUMs of a bank are strongly
correlated: measured, a bank's ERT is about ``c * exp(h)`` with ``c`` near 1 whatever K, so the
bound overshoots the target by a factor ~K. Like any CUSUM of exact log-likelihood ratios,
``log ERT`` grows with slope 1 in ``h`` (Siegmund's approximation; checked in the tests), so
``c`` measured at a short ERT (`PROBE_GAMMA` events, `RUNS` runs on codes drawn from ``p0``)
gives ``h = log(gamma / c)`` for any gamma. The result never exceeds the bound, and with a
reference allowance (slack) the true slope is above 1, so the extrapolation errs long.
Results are cached per bank, so monitors built again on the same profile pay nothing.
"""

from __future__ import annotations

import math

import numpy as np

from drift.sequential.bank import Direction, TiltBank

PROBE_GAMMA = 1000.0
RUNS = 200
_CACHE: dict[tuple[object, ...], float] = {}


def probe_constant(
    p0: np.ndarray, directions: tuple[Direction, ...], slack: float, *, seed: int = 0,
    probe_gamma: float = PROBE_GAMMA, runs: int = RUNS,
) -> float:
    """``c = mean run length / exp(h)`` at ``h = log(probe_gamma)``, on codes drawn from `p0`."""
    key = (p0.tobytes(), tuple((d.name, d.scores.tobytes(), d.thetas) for d in directions),
           slack, seed, probe_gamma, runs)
    if key in _CACHE:
        return _CACHE[key]
    h = math.log(probe_gamma)
    bank = TiltBank(p0, directions, h, slack=slack)
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(p0)
    total = 0
    for _ in range(runs):
        bank.reset()
        while True:
            codes = np.minimum(np.searchsorted(cdf, rng.random(512)), p0.size - 1)
            hit = bank.update(codes)
            if hit is not None:
                total += hit[0] + 1
                break
            total += codes.size
    c = total / runs / math.exp(h)
    _CACHE[key] = c
    return c


def calibrated_h(
    p0: np.ndarray, directions: tuple[Direction, ...], gamma: float, slack: float, *,
    seed: int = 0,
) -> float:
    """The threshold for an ERT of `gamma` events, at most the union bound ``log(K gamma)``."""
    k = sum(len(d.thetas) for d in directions)
    c = probe_constant(p0, directions, slack, seed=seed)
    return min(math.log(gamma / c), math.log(k * gamma))
