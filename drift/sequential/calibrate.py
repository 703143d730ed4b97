"""Calibrate a bank's threshold to a target ERT by simulation at a short ERT and extrapolation.

The union bound ``h = log(K * gamma)`` ignores that the K CUSUMs of a bank are strongly
correlated: measured, a bank's ERT is about ``c * exp(h)`` with ``c`` near 1 whatever K, so the
bound overshoots the target by a factor ~K. Like any CUSUM of exact log-likelihood ratios,
``log ERT`` grows with slope 1 in ``h`` (Siegmund's approximation; checked in the tests), so
``c`` measured at a short ERT (`RUNS` runs on codes drawn from ``p0`` at ``h = PROBE_H``, where
banks of blocks of 16 events run ~2,000-10,000 events: c is ~7-46 here) gives
``h = log(gamma / c)`` for any gamma. The result never exceeds the bound, and with a
reference allowance (slack) the true slope is above 1, so the extrapolation errs long.

``c`` does not depend on gamma, so it is measured once, when the profile is built (training
time), and stored there under a `bank_key` that fingerprints everything it depends on (bins,
directions, thetas, slack, block, probe settings). A monitor whose bank has a stored constant starts
in milliseconds; any other bank (an older profile, a non-default tolerance) is simulated at
construction (about a second), logged, and cached for the process.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping

import numpy as np

from drift.sequential.bank import BLOCK, Direction, TiltBank

log = logging.getLogger(__name__)

PROBE_GAMMA = 4000.0  # events: the scale of the probe's run lengths
PROBE_H = math.log(PROBE_GAMMA / BLOCK)  # e^h = 250 blocks
RUNS = 400  # c to ~5 % (one standard error): 200 runs left ~7 %, seen as 8 % low once
SEED = 0
#: a run is cut at `MAX_RUN` events and the probe at `BUDGET` events in all. Cut runs make
#: ``c`` smaller, ``h`` larger and the ERT longer (the safe side); the slowest default bank
#: (the concept's, ~10,000 events) runs this long once in e^8 runs and stays within the
#: budget, while a bank whose allowance dwarfs its tilts (a reference of a few hundred rows)
#: would otherwise take seconds to minutes.
MAX_RUN = 20 * PROBE_GAMMA
BUDGET = 5 * RUNS * PROBE_GAMMA
_CACHE: dict[str, float] = {}


def bank_key(p0: np.ndarray, directions: tuple[Direction, ...], slack: float) -> str:
    """A fingerprint of what a bank's constant depends on (rounded: JSON round trips agree)."""
    digest = hashlib.sha256()

    def add(values: np.ndarray) -> None:
        digest.update((np.round(np.asarray(values, dtype=np.float64), 12) + 0.0).tobytes())

    add(p0)
    for d in directions:
        digest.update(f"{d.name}:{d.thetas!r}".encode())
        add(d.scores)
    settings = (round(slack, 12), BLOCK, PROBE_GAMMA, RUNS, SEED, MAX_RUN, BUDGET)
    digest.update(repr(settings).encode())
    return digest.hexdigest()[:20]


def probe_constant(p0: np.ndarray, directions: tuple[Direction, ...], slack: float) -> float:
    """``c = mean run length / exp(h)`` at ``h = PROBE_H``, on codes drawn from `p0`."""
    key = bank_key(p0, directions, slack)
    if key in _CACHE:
        return _CACHE[key]
    h = PROBE_H
    bank = TiltBank(p0, directions, h, slack=slack)
    rng = np.random.default_rng(SEED)
    cdf = np.cumsum(p0)
    total = 0
    runs = 0
    while runs < RUNS and total < BUDGET:
        runs += 1
        bank.reset()
        run = 0
        while run < MAX_RUN:
            codes = np.minimum(np.searchsorted(cdf, rng.random(4096)), p0.size - 1)
            hit = bank.update(codes)
            if hit is not None:
                run += hit[0] + 1
                break
            run += codes.size
        total += min(run, int(MAX_RUN))
    c = total / runs / math.exp(h)
    _CACHE[key] = c
    return c


def bank_constant(
    name: str, p0: np.ndarray, directions: tuple[Direction, ...], slack: float,
    stored: Mapping[str, tuple[str, float]],
) -> float:
    """The stored constant of this bank if the profile has it, else a simulated one."""
    key = bank_key(p0, directions, slack)
    known = stored.get(name)
    if known is not None and known[0] == key:
        return known[1]
    log.info(
        "flag %r: the profile holds no calibration constant for this bank (%s); simulating it",
        name, "older profile" if known is None else "non-default settings",
    )
    return probe_constant(p0, directions, slack)


def calibrated_h(
    p0: np.ndarray, directions: tuple[Direction, ...], gamma: float, c: float
) -> float:
    """The threshold for an ERT of `gamma` events, at most the union bound ``log(K gamma)``."""
    k = sum(len(d.thetas) for d in directions)
    return min(math.log(gamma / c), math.log(k * gamma))
