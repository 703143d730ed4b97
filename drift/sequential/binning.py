"""Reference bins and tilt directions of one monitored column, from the profile's references.

Numbers use the profile's sequential bins (formats 3-4: 20 quantile bins of the training and
held-out rows, edges moved off the values of discrete columns; older profiles: the window
monitors' 10 bins), nearly equal reference probabilities; values below or above the reference
range join the first or last bin. Categories use the known categories (plus
``__other__``). Absolute errors use quantile bins of the held-out absolute residuals.

Directions (scores per bin, see `drift.sequential.bank`) are built from the mid-rank
``u(b) = P0(bin < b) + p0(b) / 2`` of each bin, so they mean the same on any binning:

    location   2u - 1            numbers, categories (declared order), both signs
    spread     |2u - 1|          numbers, both signs (wider / narrower)
    move:<m>   log(q_m / p0)     numbers with moves in the profile (format 4), theta 1 only:
                                 q_m is the reference's own values moved (scaled by exp(+-s),
                                 shifted by +-s sd, `drift.reference.NumericBins`) and binned,
                                 mixed with `MOVE_MIX` of p0 so no score is infinite. The tilt
                                 by 1 is q_m itself (renormalised on p0's support): the CUSUM
                                 of that exact alternative, which sees the column's fine
                                 structure (values clustered at round sizes) move, where the
                                 rank scores see only the smooth part of a shift
    share:<c>  1 for category c  categories, both signs (one category more / less frequent)
    upto:<c>   1 up to c         categories, both signs (the grades up to c, in declared
                                 order, together more / less frequent: a mix shift of
                                 neighbouring grades, e.g. colours D and E)
    level      2u - 1            absolute errors, upward only (errors grow)
    tail       1 for u > 0.9     absolute errors, upward only (more large errors)
    size       bin's mid value   absolute errors, upward only (the mean error grows: what an
                                 error growing in one segment moves most; the last bin counts
                                 as 1.5 times its lower edge, so no outlier sets the scale)

Relative errors ``(y_true - y_pred) / y_pred`` (profile format 4) are binned by magnitude
(quantiles of ``|rel|``) and sign, two codes per magnitude bin
(`drift.error_reference.relative_codes`): ``level``, ``tail`` and ``size`` score the magnitude as
for absolute errors (upward only), and

    bias       2u - 1, signed    relative errors, both signs (labels above / below the
                                 predictions: a bias the magnitude alone hides)
    move:x<f>@<s>                relative errors, theta 1: ``log(q / p0)`` with q = p0 where a
                                 share s of the errors is f times larger (`ERROR_SHARES`; the
                                 scaled errors' shares are in the profile), mixed as above:
                                 the exact alternative of errors growing everywhere (s = 1)
                                 or in one segment of about a quarter of the rows
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from drift.error_reference import relative_codes
from drift.reference import CategoricalReference, NumericBins, NumericReference
from drift.sequential.bank import Direction, score_sd

#: tilts of the default bank: a factor 2 apart, so any shift is within sqrt(2) of one (>= 83 %
#: of the optimal log-likelihood rate), from ~1 % of a bin width per event to most of the mass.
THETAS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
SHARE_THETAS: tuple[float, ...] = (0.15, 0.3, 0.6, 1.2, 2.4)
MOVE_THETAS: tuple[float, ...] = (1.0,)  # the moves' grid covers the sizes (half: no faster)
MOVE_MIX = 0.05  # share of p0 in each move's alternative: scores >= log(0.05)
ERROR_SHARES: tuple[float, ...] = (0.25, 1.0)  # shares of the errors that grow, in the moves
TAIL_SHARE = 0.9


@dataclass(frozen=True)
class Binned:
    """How one column becomes bin codes, the reference probability of each bin, directions."""

    name: str
    p0: np.ndarray
    directions: tuple[Direction, ...]
    encode: Callable[[pd.Series | np.ndarray], np.ndarray]


def mid_ranks(p0: np.ndarray) -> np.ndarray:
    return np.cumsum(p0) - p0 / 2


def both(thetas: tuple[float, ...]) -> tuple[float, ...]:
    return (*(-t for t in reversed(thetas)), *thetas)


def in_range(buckets: np.ndarray) -> np.ndarray:
    """Bucket shares with the out-of-range buckets joined to the edge bins, normalised."""
    shares = np.asarray(buckets, dtype=np.float64).copy()
    shares[1] += shares[0]
    shares[-2] += shares[-1]
    return shares[1:-1] / shares[1:-1].sum()


def move_direction(name: str, p0: np.ndarray, moved: np.ndarray) -> Direction:
    """``log(q / p0)`` with ``q = (1 - MOVE_MIX) * moved + MOVE_MIX * p0`` (0 off p0's support)."""
    q = (1 - MOVE_MIX) * moved + MOVE_MIX * p0
    support = p0 > 0
    scores = np.zeros(p0.size)
    scores[support] = np.log(q[support] / p0[support])
    return Direction(f"move:{name}", scores, MOVE_THETAS)


def numeric_bins(ref: NumericReference | NumericBins, thetas: tuple[float, ...] = THETAS) -> Binned:
    p0 = in_range(ref.proportions)  # out-of-range buckets join the edge bins
    # the inner edges only: below the first, bin 0; from the last on, the last bin. One
    # searchsorted gives the clipped bucket codes of `in_range` (it runs on every event)
    inner = np.asarray(ref.edges, dtype=np.float64)[1:-1]

    def encode(values: pd.Series | np.ndarray) -> np.ndarray:
        return np.searchsorted(inner, np.asarray(values, dtype=np.float64), side="right")

    centred = 2 * mid_ranks(p0) - 1
    moves = ref.moves if isinstance(ref, NumericBins) else {}
    return Binned(ref.name, p0, (
        Direction("location", centred, both(thetas)),
        Direction("spread", np.abs(centred), both(thetas)),
        *(move_direction(name, p0, in_range(moved)) for name, moved in moves.items()),
    ), encode)


def categorical_bins(
    ref: CategoricalReference,
    thetas: tuple[float, ...] = THETAS,
    share_thetas: tuple[float, ...] = SHARE_THETAS,
) -> Binned:
    p0 = ref.proportions / ref.proportions.sum()
    directions = [Direction("location", 2 * mid_ranks(p0) - 1, both(thetas))]
    for i, category in enumerate(ref.categories):
        if p0[i] > 0:  # a tilt cannot move mass into a bin the reference never saw
            scores = np.zeros(p0.size)
            scores[i] = 1.0
            directions.append(Direction(f"share:{category}", scores, both(share_thetas)))
    known = len(ref.categories)
    for i in range(1, known - 2):  # at least two known categories on each side (else: a share)
        scores = np.zeros(p0.size)
        scores[:i + 1] = 1.0
        if 0 < p0[:i + 1].sum() < 1:
            directions.append(
                Direction(f"upto:{ref.categories[i]}", scores, both(share_thetas))
            )
    return Binned(ref.name, p0, tuple(directions), ref.codes)


def error_bins(
    name: str, edges: np.ndarray, p0: np.ndarray, thetas: tuple[float, ...] = THETAS
) -> Binned:
    """Bins of absolute errors: ``len(edges) - 1`` quantile bins, beyond the ends clipped in."""
    last = p0.size - 1

    def encode(values: pd.Series | np.ndarray) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        return np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, last)

    directions = _magnitude_directions(p0, mid_ranks(p0), _bin_mids(edges, p0.size), thetas)
    return Binned(name, p0, tuple(directions), encode)


def _magnitude_directions(
    p0: np.ndarray, u: np.ndarray, mids: np.ndarray, thetas: tuple[float, ...]
) -> list[Direction]:
    """``level``, ``tail`` and ``size`` of an error magnitude (upward only)."""
    tail = (u > TAIL_SHARE).astype(np.float64)
    level = 2 * u - 1
    directions = [Direction("level", level, thetas)]
    if 0 < tail.sum() < tail.size:
        directions.append(Direction("tail", tail, thetas[2:]))
    spread = score_sd(p0, mids)
    if spread > 0:  # scaled as the level scores, so one grid of thetas fits both
        directions.append(Direction("size", mids * score_sd(p0, level) / spread, thetas))
    return directions


def _bin_mids(edges: np.ndarray, bins: int) -> np.ndarray:
    """Mid value of each bin; the last counts as 1.5 times its lower edge (no outlier scale)."""
    return np.append((edges[:-2] + edges[1:-1]) / 2, 1.5 * edges[-2])[:bins]


def relative_error_bins(
    name: str, edges: np.ndarray, p0: np.ndarray, thetas: tuple[float, ...] = THETAS,
    moves: Mapping[str, Sequence[float]] | None = None,
) -> Binned:
    """Bins of relative errors: ``len(edges) - 1`` magnitude bins times two signs; `moves`
    maps ``x<f>`` to the shares of the errors f times larger (`ErrorReference.rel_moves`)."""
    bins = edges.size - 1
    if p0.size != 2 * bins:
        raise ValueError(f"{name}: {p0.size} shares for {bins} magnitude bins (expected 2 each)")

    def encode(values: pd.Series | np.ndarray) -> np.ndarray:
        return relative_codes(edges, np.asarray(values, dtype=np.float64))

    u = np.repeat(mid_ranks(p0.reshape(bins, 2).sum(axis=1)), 2)  # rank of the magnitude
    # signed order: negative codes from the largest magnitude down to 0, then the positive ones
    order = np.r_[np.arange(bins - 1, -1, -1) * 2, np.arange(bins) * 2 + 1]
    signed = np.empty(p0.size)
    signed[order] = mid_ranks(p0[order])
    directions = _magnitude_directions(p0, u, np.repeat(_bin_mids(edges, bins), 2), thetas)
    directions.insert(1, Direction("bias", 2 * signed - 1, both(thetas)))
    for move, shares in (moves or {}).items():
        scaled = np.asarray(shares, dtype=np.float64)
        if scaled.shape == p0.shape:
            directions += [move_direction(f"{move}@{share:g}", p0,
                                          (1 - share) * p0 + share * scaled)
                           for share in ERROR_SHARES]
    return Binned(name, p0, tuple(directions), encode)
