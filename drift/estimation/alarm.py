"""The estimated-performance alarm: a `DriftFlag` on the binned per-event estimated loss.

Product decision: the alarm means "the model got materially worse" (the estimated MAE above
`alarm_ratio`, 1.2 by default, times the reference), not "the estimated loss moved in any
detectable way". A shift toward cheap stones lowers the estimated loss and must stay quiet; a
shift that raises it by 5 % is real but not worth a page.

How: each bin ``b`` of the estimated loss scores ``g(b) = mean estimate in b / mean estimate``
(so ``E0[g] = 1`` and, while the live within-bin mix stays put, ``E[g]`` is the live estimated
MAE over the reference). The bank tilts the reference ``p0`` along ``g``: its increments
``z(b) = theta g(b) - log Z(theta)`` (``Z(theta) = sum_b p0(b) exp(theta g(b))``) are exact
log-likelihood ratios (`drift.sequential.bank`), and a CUSUM of them drifts upward exactly when
the live mean of ``g`` exceeds ``log Z(theta) / theta``. That break-even grows with theta from
``E0[g] = 1`` (theta -> 0) towards ``max g``; the smallest tilt ``theta*`` solves
``log Z(theta*) / theta* = alarm_ratio``, so below 1.2x no member climbs (on average), and the
bank adds ``2 theta*`` and ``4 theta*`` (higher break-evens, faster on large degradations).
Because the margin is ~20 reference standard errors of the mean estimate (10,000 held-out
rows), the CUSUMs give up no further allowance for the reference's own noise (slack 0).

The threshold comes from the same calibration as every other flag (a constant measured at a
short ERT, extrapolated to ``gamma``, `drift.sequential.calibrate`), stored in the reference at
training time. The flag clears by the usual reverse test at half the alarming tilt: once the
estimated MAE is back below about its break-even (~1.1x for ``theta*``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from drift.estimation.reference import EstimationReference
from drift.exceptions import ProfileError
from drift.sequential.bank import Direction
from drift.sequential.calibrate import bank_constant, bank_key, calibrated_h, probe_constant
from drift.sequential.flag import DriftFlag

FLAG = "estimated_performance"
TILT_FACTORS: tuple[float, ...] = (1.0, 2.0, 4.0)


def scores(reference: EstimationReference) -> np.ndarray:
    """``g(b)``: each bin's mean estimated loss over the reference mean (``E0[g] = 1``)."""
    return np.asarray(reference.bin_means) / reference.mean_estimate


def break_even(p0: np.ndarray, g: np.ndarray, theta: float) -> float:
    """The live mean of `g` above which a CUSUM tilted by `theta` drifts upward."""
    return float(logsumexp(theta * g, b=p0)) / theta


def base_tilt(p0: np.ndarray, g: np.ndarray, ratio: float) -> float:
    """``theta*`` with ``break_even(theta*) = ratio``; ProfileError when `ratio` is beyond
    what the reference bins can express (above the top bin's mean)."""
    if not 1.0 < ratio < float(g.max()):
        raise ProfileError(
            f"alarm_ratio must be in (1, {float(g.max()):.3g}) for this reference, got {ratio}"
        )
    hi = 1.0
    while break_even(p0, g, hi) < ratio:
        hi *= 2
    return float(brentq(lambda t: break_even(p0, g, t) - ratio, 1e-9, hi, xtol=1e-12))


def directions(reference: EstimationReference, ratio: float) -> tuple[Direction, ...]:
    p0, g = np.asarray(reference.p0), scores(reference)
    theta = base_tilt(p0, g, ratio)
    return (Direction("mean_loss", g, tuple(theta * f for f in TILT_FACTORS)),)


def alarm_constant(reference: EstimationReference) -> tuple[str, float]:
    """``(bank key, c)`` of the default alarm bank, measured now (training time)."""
    p0 = np.asarray(reference.p0)
    dirs = directions(reference, reference.alarm_ratio)
    return bank_key(p0, dirs, 0.0), probe_constant(p0, dirs, 0.0)


def alarm_flag(
    reference: EstimationReference, *, gamma: float, clear_gamma: float,
    ratio: float | None = None,
) -> DriftFlag:
    """The flag at an ERT of `gamma` events; another `ratio` than the reference's simulates
    its constant at construction (about a second, logged)."""
    p0 = np.asarray(reference.p0)
    dirs = directions(reference, reference.alarm_ratio if ratio is None else ratio)
    stored = {} if reference.constant is None else {FLAG: reference.constant}
    c = bank_constant(FLAG, p0, dirs, 0.0, stored)
    h = calibrated_h(p0, dirs, gamma, c)
    return DriftFlag(FLAG, p0, dirs, h=h, clear_h=math.log(clear_gamma))
