"""Bins and directions of the sequential flags: edges off the values of discrete columns,
splits of ordered categories, the size of absolute errors."""

from __future__ import annotations

import numpy as np
import pytest

from drift.reference import CategoricalReference, NumericBins, atom_edges, bucket_codes
from drift.sequential.bank import score_sd
from drift.sequential.binning import categorical_bins, error_bins, numeric_bins


def test_edges_of_a_whole_number_column_sit_halfway_between_values() -> None:
    x = np.random.default_rng(1).normal(57.5, 2.2, 20_000).round()
    edges = atom_edges(x, 20)
    assert edges[0] == x.min() and edges[-1] == x.max()
    np.testing.assert_allclose(edges[1:-1] % 1, 0.5)
    bins = numeric_bins(NumericBins.build("table", x, n_bins=20))
    values = np.arange(50.0, 66.0)
    assert np.all(bins.encode(values + 0.5) == bins.encode(values + 1))  # half a step: next bin
    # the reference shares are those of the quantile edges: each atom stays above its edge
    plain = np.unique(np.quantile(x, np.linspace(0, 1, 21)))
    np.testing.assert_allclose(
        np.bincount(np.searchsorted(plain[1:-1], x, side="right")),
        np.bincount(np.searchsorted(edges[1:-1], x, side="right")),
    )


def test_numeric_codes_are_the_reference_buckets_with_the_out_of_range_ones_joined_in() -> None:
    x = np.random.default_rng(3).lognormal(0.0, 0.5, 10_000)
    ref = NumericBins.build("carat", x, n_bins=20)
    bins = numeric_bins(ref)
    last = bins.p0.size - 1
    edges = np.asarray(ref.edges)
    live = np.concatenate([
        np.random.default_rng(4).lognormal(0.3, 0.8, 5_000),  # beyond both ends too
        edges, edges - 1e-9, edges + 1e-9, [np.nan, np.inf, -np.inf, 0.0, -1.0],
    ])
    expected = np.clip(bucket_codes(edges, live) - 1, 0, last)  # the buckets of `in_range`
    np.testing.assert_array_equal(bins.encode(live), expected)
    assert bins.encode(live).min() == 0 and bins.encode(live).max() == last


def test_edges_of_a_continuous_column_are_its_quantiles() -> None:
    x = np.random.default_rng(2).lognormal(0.0, 0.5, 10_000)
    np.testing.assert_array_equal(atom_edges(x, 20), np.quantile(x, np.linspace(0, 1, 21)))


def test_ordered_categories_get_one_split_per_inner_boundary() -> None:
    categories = ("D", "E", "F", "G", "H", "I", "J")
    shares = np.array([0.12, 0.18, 0.18, 0.21, 0.15, 0.1, 0.06, 0.0])
    binned = categorical_bins(CategoricalReference("color", categories, shares))
    splits = {d.name: d.scores for d in binned.directions if d.name.startswith("upto:")}
    # a split leaving one category on either side would repeat that category's share
    assert list(splits) == ["upto:E", "upto:F", "upto:G", "upto:H"]
    np.testing.assert_array_equal(splits["upto:E"], [1, 1, 0, 0, 0, 0, 0, 0])


def test_the_size_of_errors_grows_with_the_bin_and_ignores_the_largest_outlier() -> None:
    edges = np.array([0.0, 1.0, 2.0, 4.0, 1000.0])
    p0 = np.full(4, 0.25)
    binned = error_bins("concept", edges, p0)
    size = next(d for d in binned.directions if d.name == "size")
    level = next(d for d in binned.directions if d.name == "level")
    assert np.all(np.diff(size.scores) > 0)
    # bin mids 0.5, 1.5, 3 and 1.5 x 4 for the open-ended last bin, scaled as the level scores
    mids = np.array([0.5, 1.5, 3.0, 6.0])
    np.testing.assert_allclose(size.scores, mids * score_sd(p0, level.scores) / score_sd(p0, mids))
    assert score_sd(p0, size.scores) == pytest.approx(score_sd(p0, level.scores))
