"""Each scenario shifts exactly what its docstring claims, on seeded streams (n = 5000)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from model.features import CATEGORIES
from producer import SCENARIOS, EventGenerator, Scenario, register
from producer.scenarios import GradualDrift
from producer.scenarios.data_drift import CARAT_SHIFT, CLARITY_REDRAW, LOW_CLARITY

N = 5000
SEED = 11
ALPHA = 0.01  # "not drifted": p-values above this
UNCHANGED_NUMERIC = ("depth", "table")
UNCHANGED_CATEGORICAL = ("cut", "color")


def stream(rows: pd.DataFrame, scenario: str, n: int = N, **kwargs: object) -> pd.DataFrame:
    return EventGenerator(rows, scenario=scenario, seed=SEED, **kwargs).frame(n)  # type: ignore[arg-type]


def chi2_p(sample: pd.Series, reference: pd.Series, column: str) -> float:
    shares = reference.value_counts(normalize=True).reindex(CATEGORIES[column], fill_value=0)
    counts = sample.value_counts().reindex(CATEGORIES[column], fill_value=0)
    return float(stats.chisquare(counts, shares * counts.sum()).pvalue)


def ks_p(sample: pd.Series, reference: pd.Series) -> float:
    return float(stats.ks_2samp(sample, reference).pvalue)


def low_share(clarity: pd.Series) -> float:
    return float(clarity.isin(list(LOW_CLARITY)).mean())


@pytest.mark.parametrize("reference", ["test", "train"])
def test_baseline_matches_the_split_distribution(
    diamond_split: tuple[pd.DataFrame, pd.DataFrame], reference: str
) -> None:
    """Sampled from the test split, a baseline stream shows no drift vs test nor vs train."""
    train, test = diamond_split
    ref = test if reference == "test" else train
    events = stream(test.reset_index(drop=True), "baseline")
    for column in ("carat", *UNCHANGED_NUMERIC, "price"):
        assert ks_p(events[column], ref[column]) > ALPHA, column
    for column in CATEGORIES:
        assert chi2_p(events[column], ref[column], column) > ALPHA, column


def test_data_drift_shifts_carat_and_clarity_only(test_rows: pd.DataFrame) -> None:
    base = stream(test_rows, "baseline")
    drift = stream(test_rows, "data-drift")
    # carat: x1.30 up to the 0.01 ct rounding
    assert drift["carat"].mean() / base["carat"].mean() == pytest.approx(1 + CARAT_SHIFT, abs=2e-3)
    assert drift["carat"].mean() / test_rows["carat"].mean() == pytest.approx(1.3, abs=0.03)
    assert ks_p(drift["carat"], test_rows["carat"]) < 1e-10
    # clarity: 40 % redrawn from SI2/I1
    expected_low = (1 - CLARITY_REDRAW) * low_share(test_rows["clarity"]) + CLARITY_REDRAW
    assert low_share(drift["clarity"]) == pytest.approx(expected_low, abs=0.02)
    assert low_share(base["clarity"]) == pytest.approx(low_share(test_rows["clarity"]), abs=0.02)
    assert chi2_p(drift["clarity"], test_rows["clarity"], "clarity") < 1e-10
    # everything else: the very same values as baseline, hence the reference distribution
    pd.testing.assert_frame_equal(drift[["index", "cut", "color", "depth", "table", "price"]],
                                  base[["index", "cut", "color", "depth", "table", "price"]])
    for column in UNCHANGED_NUMERIC:
        assert ks_p(drift[column], test_rows[column]) > ALPHA, column
    for column in UNCHANGED_CATEGORICAL:
        assert chi2_p(drift[column], test_rows[column], column) > ALPHA, column


def test_data_drift_starts_at_the_onset(test_rows: pd.DataFrame) -> None:
    base = stream(test_rows, "baseline", n=3000)
    drift = stream(test_rows, "data-drift", n=3000, drift_onset=1234)
    pd.testing.assert_frame_equal(drift.iloc[:1234], base.iloc[:1234])
    after = drift.iloc[1234:]["carat"].to_numpy() / base.iloc[1234:]["carat"].to_numpy()
    assert np.allclose(after, 1.3, atol=0.026)  # 0.005 ct rounding on a 0.2 ct stone


def test_drift_strength_scales_the_shift(test_rows: pd.DataFrame) -> None:
    base = stream(test_rows, "baseline")
    half = stream(test_rows, "data-drift", drift_strength=0.5)
    none = stream(test_rows, "data-drift", drift_strength=0.0)
    assert half["carat"].mean() / base["carat"].mean() == pytest.approx(1.15, abs=2e-3)
    pd.testing.assert_frame_equal(none, base)


def test_gradual_drift_ramps_linearly_and_monotonically(test_rows: pd.DataFrame) -> None:
    onset, ramp = 1000, 4000
    base = stream(test_rows, "baseline", n=8000)
    drift = stream(test_rows, "gradual-drift", n=8000, drift_onset=onset, drift_ramp=ramp)
    pd.testing.assert_frame_equal(drift.iloc[:onset], base.iloc[:onset])
    ratio = drift["carat"] / base["carat"]
    windows = [ratio.iloc[start:start + 1000].mean() for start in range(onset, onset + ramp, 1000)]
    assert all(a < b for a, b in zip(windows, windows[1:], strict=False)), windows
    for k, mean in enumerate(windows):  # window k covers weights k/4 .. (k+1)/4
        assert mean == pytest.approx(1 + CARAT_SHIFT * (k + 0.5) / 4, abs=0.01)
    full = ratio.iloc[onset + ramp:]
    assert full.mean() == pytest.approx(1 + CARAT_SHIFT, abs=2e-3)
    lows = [low_share(drift["clarity"].iloc[s:s + 1000]) for s in range(onset, onset + ramp, 1000)]
    assert all(a < b for a, b in zip(lows, lows[1:], strict=False)), lows


def test_gradual_weight_profile() -> None:
    scenario = GradualDrift(onset=100, ramp=50)
    w = scenario.weight(np.arange(0, 300))
    assert np.all(np.diff(w) >= 0)
    assert w[99] == 0 and w[100] == 0 and w[125] == 0.5 and w[150] == 1 and w[299] == 1


def test_concept_drift_changes_labels_after_onset_only(test_rows: pd.DataFrame) -> None:
    onset = 2000
    base = stream(test_rows, "baseline")
    concept = stream(test_rows, "concept-drift", drift_onset=onset)
    features = ["index", "carat", "cut", "color", "clarity", "depth", "table"]
    pd.testing.assert_frame_equal(concept[features], base[features])
    assert (concept["price"].iloc[:onset] == base["price"].iloc[:onset]).all()
    expected = np.rint(base["price"].iloc[onset:] * 1.6).astype(np.int64)
    assert (concept["price"].iloc[onset:] == expected).all()


def test_new_scenario_is_one_registered_class(test_rows: pd.DataFrame) -> None:
    @register
    class Cheaper(Scenario):
        """Prices halved, features untouched (test only)."""

        name = "test-cheaper"

        def apply(self, rows, index, rng):
            return rows.drop(columns="price"), (rows["price"].to_numpy() // 2)

    try:
        base = stream(test_rows, "baseline", n=100)
        cheaper = stream(test_rows, "test-cheaper", n=100)
        assert (cheaper["price"] == base["price"] // 2).all()
        with pytest.raises(ValueError, match="already registered"):
            register(Cheaper)
    finally:
        SCENARIOS.pop("test-cheaper")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"onset": -1}, "onset must be >= 0, got -1"), ({"ramp": 0}, "ramp must be >= 1 event"),
     ({"strength": 11.0}, r"strength must be in \[0, 10\], got 11.0")],
)
def test_bad_scenario_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GradualDrift(**kwargs)


# -- covariate shifts: real rows, resampled (issue 14) -----------------------------------------


def tilted_mean(values: np.ndarray, log_weights: np.ndarray) -> float:
    w = np.exp(log_weights - log_weights.max())
    return float(np.sum(w * values) / w.sum())


@pytest.mark.parametrize(("scenario", "tilt"), [("covariate-shift", 1.0),
                                                ("covariate-shift-cheap", -2.0)])
def test_covariate_shift_moves_the_carat_mix_toward_the_tilted_mean(
    test_rows: pd.DataFrame, scenario: str, tilt: float
) -> None:
    events = stream(test_rows, scenario)
    carat = test_rows["carat"].to_numpy(dtype=float)
    expected = tilted_mean(carat, tilt * carat)
    assert events["carat"].mean() == pytest.approx(expected, rel=0.03)
    assert abs(expected - carat.mean()) > 0.15  # a shift the tolerance cannot hide


def test_covariate_shift_sends_real_rows_with_their_true_prices(test_rows: pd.DataFrame) -> None:
    columns = ["carat", "cut", "color", "clarity", "depth", "table", "price"]
    real = set(map(tuple, test_rows[columns].itertuples(index=False)))
    for scenario in ("covariate-shift", "covariate-shift-cheap", "covariate-shift-rare"):
        events = stream(test_rows, scenario, n=2000)
        sent = set(map(tuple, events[columns].itertuples(index=False)))
        assert sent <= real, scenario  # every event is a held-out row, price included


def test_covariate_shift_rare_favours_the_rarest_clarities(test_rows: pd.DataFrame) -> None:
    p = float(test_rows["clarity"].isin(["I1", "IF"]).mean())
    events = stream(test_rows, "covariate-shift-rare")
    expected = 10 * p / (10 * p + 1 - p)
    assert events["clarity"].isin(["I1", "IF"]).mean() == pytest.approx(expected, rel=0.1)


def test_covariate_shift_starts_at_the_onset_and_scales_with_strength(
    test_rows: pd.DataFrame,
) -> None:
    base = stream(test_rows, "baseline")
    onset = stream(test_rows, "covariate-shift", drift_onset=3000)
    pd.testing.assert_frame_equal(onset.iloc[:3000], base.iloc[:3000])
    half = stream(test_rows, "covariate-shift", drift_strength=0.5)["carat"].mean()
    full = stream(test_rows, "covariate-shift")["carat"].mean()
    assert base["carat"].mean() < half < full
