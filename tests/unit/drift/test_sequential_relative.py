"""The concept flag on errors relative to the prediction, and the move directions of numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from drift import ReferenceProfile
from drift.error_reference import (
    ErrorReference,
    relative_codes,
    scale_free_residuals,
)
from drift.reference import NumericBins, bucket_codes
from drift.sequential import CONCEPT, ENDED, STARTED, SequentialConcept
from drift.sequential.bank import TiltBank, increments
from drift.sequential.binning import in_range, move_direction, numeric_bins, relative_error_bins

Reference = tuple[ReferenceProfile, np.ndarray, np.ndarray]


def test_relative_codes_are_magnitude_bin_and_sign() -> None:
    edges = np.array([0.0, 0.1, 0.2, 0.5])
    rel = np.array([-0.05, 0.05, -0.15, 0.15, 0.3, -0.3, 9.0, -9.0, 0.0])
    np.testing.assert_array_equal(relative_codes(edges, rel), [0, 1, 2, 3, 5, 4, 5, 4, 1])


def test_relative_bins_are_chosen_only_where_errors_grow_with_the_price() -> None:
    rng = np.random.default_rng(3)
    pred = rng.uniform(500.0, 15_000.0, 20_000)
    growing = rng.normal(0.0, 0.1, pred.size) * pred
    flat = rng.normal(0.0, 500.0, pred.size)
    np.testing.assert_allclose(scale_free_residuals(growing, pred), growing / pred)
    assert scale_free_residuals(flat, pred) is None
    # the rule is the Spearman correlation of the error size with the prediction
    assert abs(spearmanr(np.abs(growing), pred)[0]) > abs(spearmanr(np.abs(growing / pred),
                                                                     pred)[0])
    ref = ErrorReference.from_residuals(growing, predictions=pred)
    assert ref.rel_n == pred.size and len(ref.rel_proportions) == 2 * (len(ref.rel_edges) - 1)
    codes = relative_codes(np.asarray(ref.rel_edges), growing / pred)
    np.testing.assert_allclose(ref.rel_proportions, np.bincount(codes) / pred.size)
    scaled = relative_codes(np.asarray(ref.rel_edges), 2 * growing / pred)
    np.testing.assert_allclose(ref.rel_moves["x2"], np.bincount(scaled, minlength=codes.max() + 1)
                               / pred.size)
    assert set(ref.rel_moves) == {"x1.2", "x1.5", "x2", "x3"}
    assert ErrorReference.from_residuals(flat, predictions=pred).rel_edges == ()
    assert ErrorReference.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref


def test_the_bias_direction_orders_the_signed_errors() -> None:
    edges = np.array([0.0, 0.1, 0.2, 0.4])
    p0 = np.array([0.25, 0.25, 0.2, 0.2, 0.05, 0.05])  # (bin, sign) pairs: -, +, -, +, -, +
    binned = relative_error_bins(CONCEPT, edges, p0)
    bias = next(d for d in binned.directions if d.name == "bias").scores
    signed_order = [4, 2, 0, 1, 3, 5]  # from the most negative error to the most positive
    assert np.all(np.diff(bias[signed_order]) > 0)
    level = next(d for d in binned.directions if d.name == "level").scores
    np.testing.assert_array_equal(level[0::2], level[1::2])  # magnitude only
    assert [d.name for d in binned.directions] == ["level", "bias", "tail", "size"]
    with pytest.raises(ValueError, match="expected 2 each"):
        relative_error_bins(CONCEPT, edges, p0[:4] / p0[:4].sum())


def test_a_move_tilted_by_one_is_the_moved_distribution() -> None:
    """The ``move:`` increments are the exact log-likelihood ratio of the moved values."""
    x = np.round(np.exp(np.random.default_rng(5).normal(-0.4, 0.55, 50_000)), 2)
    bins = NumericBins.build("carat", x, n_bins=20)
    assert set(bins.moves) >= {"x1.02", "x0.98", "+0.1sd", "-0.1sd"}
    np.testing.assert_allclose(
        bins.moves["x1.02"], np.bincount(bucket_codes(bins.edges, x * np.exp(0.02)),
                                         minlength=bins.edges.size + 1) / x.size,
    )
    binned = numeric_bins(bins)
    p0 = binned.p0
    move = next(d for d in binned.directions if d.name == "move:x1.02")
    assert move.thetas == (1.0,)
    q = 0.95 * in_range(bins.moves["x1.02"]) + 0.05 * p0
    np.testing.assert_allclose(np.exp(increments(p0, move.scores, 1.0)) * p0, q / q.sum())
    assert NumericBins.from_dict(json.loads(json.dumps(bins.to_dict()))).moves.keys() == \
        bins.moves.keys()
    assert move_direction("flat", p0, p0).scores == pytest.approx(np.full(p0.size, np.log(1.0)))


def _round_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Weights in hundredths, 40 % of them at a round size or one hundredth above (0.3, 0.31,
    0.5, 0.51, 0.7, 0.71, 1, 1.01 carat), as diamonds are cut to just reach a size."""
    x = np.round(np.exp(rng.normal(-0.4, 0.55, n)), 2).clip(0.2, 5.0)
    at_round = rng.random(n) < 0.4
    sizes = [0.3, 0.31, 0.5, 0.51, 0.7, 0.71, 1.0, 1.01]
    x[at_round] = rng.choice(sizes, size=int(at_round.sum()))
    return x


def test_a_scale_of_two_percent_is_seen_by_its_move_far_sooner_than_by_location() -> None:
    """Weights cluster at round sizes: 2 % larger stones leave the clusters' bins, a change the
    rank scores see only as a 0.04 sd shift, about the reference allowance."""
    rng = np.random.default_rng(8)
    bins = NumericBins.build("carat", _round_sizes(rng, 50_000), n_bins=20)
    assert {0.305, 0.505, 0.705, 1.005} <= set(np.round(bins.edges, 3))  # between the pairs
    binned = numeric_bins(bins)
    slack = 4.0 / np.sqrt(50_000)
    codes = binned.encode(_round_sizes(rng, 20_000) * 1.02)
    h = float(np.log(3e9 * 60))  # the union bound of a bank of 60 at ERT 3e9 blocks
    full = TiltBank(binned.p0, binned.directions, h, slack=slack)
    hit = full.update(codes)
    assert hit is not None and full.names[hit[1]].startswith("move:x1.02")
    assert hit[0] < 1000, hit
    ranks = TiltBank(binned.p0, tuple(d for d in binned.directions
                                      if not d.name.startswith("move:")), h, slack=slack)
    slow = ranks.update(codes)
    assert slow is None or slow[0] > 10 * hit[0]


def _labels(
    rng: np.random.Generator, n: int, scale: float, bias: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    pred = rng.uniform(500.0, 15_000.0, n)
    return pred * (1 + bias + rng.normal(0.0, 0.1 * scale, n)), pred


def test_the_concept_flag_on_relative_errors_sees_growth_and_bias_and_clears(
    relative_reference: Reference,
) -> None:
    profile = relative_reference[0]
    rng = np.random.default_rng(12)
    for scale, bias in ((2.0, 0.0), (1.0, 0.05)):
        concept = SequentialConcept(profile)
        assert concept.relative
        concept.update(*_labels(rng, 5000, 1.0))
        assert concept.evaluate().transitions == ()
        concept.update(*_labels(rng, 3000, scale, bias))
        state = concept.evaluate()
        assert [t.kind for t in state.transitions] == [STARTED]
        assert 5000 <= state.transitions[0].event < 6000
        growth = ("level", "size", "tail", "move:x")
        assert state.transitions[0].detector.startswith("bias" if bias else growth)
        concept.update(*_labels(rng, 20_000, 1.0))
        assert [t.kind for t in concept.evaluate().transitions] == [ENDED]


def test_a_price_shift_alone_raises_no_relative_concept_flag(
    relative_reference: Reference,
) -> None:
    """Dearer stones have larger absolute errors: the relative errors stay the same."""
    concept = SequentialConcept(relative_reference[0])
    rng = np.random.default_rng(13)
    y, pred = _labels(rng, 50_000, 1.0)
    assert concept.update(3 * y, 3 * pred) == []
    assert concept.evaluate().mae_ratio > 2  # the absolute errors did grow


def test_homoscedastic_errors_keep_the_absolute_concept_flag(profile: ReferenceProfile) -> None:
    assert profile.errors is not None and profile.errors.rel_edges == ()
    assert not SequentialConcept(profile).relative


def test_pairs_with_a_prediction_at_or_below_zero_are_skipped(
    relative_reference: Reference,
) -> None:
    concept = SequentialConcept(relative_reference[0])
    concept.update(np.array([100.0, 100.0, 100.0, np.nan]), np.array([0.0, -5.0, 90.0, 80.0]))
    assert concept.n_seen == 1


def test_an_error_move_is_the_mixture_of_reference_and_scaled_errors() -> None:
    """``move:x2@0.25``: a quarter of the errors twice as large, tilted by 1 exactly."""
    edges = np.array([0.0, 0.1, 0.2, 0.4])
    p0 = np.array([0.25, 0.25, 0.2, 0.2, 0.05, 0.05])
    doubled = np.array([0.1, 0.1, 0.15, 0.15, 0.25, 0.25])
    binned = relative_error_bins(CONCEPT, edges, p0, moves={"x2": tuple(doubled)})
    names = [d.name for d in binned.directions]
    assert names[-2:] == ["move:x2@0.25", "move:x2@1"]
    move = binned.directions[-2]
    q = 0.95 * (0.75 * p0 + 0.25 * doubled) + 0.05 * p0
    np.testing.assert_allclose(np.exp(increments(p0, move.scores, 1.0)) * p0, q)
