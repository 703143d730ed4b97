"""The pure statistics against scipy (the oracle) and against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from drift.stats import (
    EPSILON,
    js_distance,
    normalised_wasserstein,
    proportions,
    psi,
    row_proportions,
)


def test_psi_by_hand_on_a_tiny_example() -> None:
    expected = np.array([0.5, 0.3, 0.2])
    actual = np.array([0.3, 0.3, 0.4])
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0.0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi(expected, actual) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(0.2408, abs=1e-4)


def test_psi_smooths_an_empty_bucket_with_epsilon() -> None:
    expected = np.array([0.5, 0.5, 0.0])  # the reference never saw the third bucket
    actual = np.array([0.4, 0.5, 0.1])
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - EPSILON) * math.log(0.1 / EPSILON)
    assert psi(expected, actual) == pytest.approx(by_hand, rel=1e-12)
    assert psi(expected, expected) == 0.0


def test_psi_is_vectorised_over_rows() -> None:
    expected = np.array([0.25, 0.25, 0.5])
    rows = np.array([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]])
    assert psi(expected, rows) == pytest.approx([0.0, psi(expected, rows[1])])


def test_js_equals_scipy_jensenshannon_base_2() -> None:
    p, q = np.array([0.5, 0.3, 0.2, 0.0]), np.array([0.25, 0.25, 0.25, 0.25])
    assert float(js_distance(p, q)) == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert float(js_distance(p, p)) == pytest.approx(0.0, abs=1e-7)
    rows = np.vstack([p, q])
    assert js_distance(rows, np.vstack([q, q])) == pytest.approx([jensenshannon(p, q, base=2), 0])


def test_normalised_wasserstein_is_scipy_over_the_scale() -> None:
    u, v = np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 8.0])
    assert normalised_wasserstein(u, v, 2.5) == pytest.approx(sps.wasserstein_distance(u, v) / 2.5)
    assert normalised_wasserstein(u, v, 2.5) == pytest.approx(2.0)  # a shift of 5 over 2.5


def test_proportions_per_array_and_per_row() -> None:
    codes = np.array([[0, 0, 2, 3], [1, 1, 1, 1]])
    assert proportions(codes[0], 4).tolist() == [0.5, 0.0, 0.25, 0.25]
    assert row_proportions(codes, 4).tolist() == [[0.5, 0.0, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]]
    assert proportions(np.array([], dtype=int), 3).tolist() == [0.0, 0.0, 0.0]
