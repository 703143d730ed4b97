"""DriftMonitor: no cry-wolf on a stationary stream, the right flag on a shift, bounded memory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from drift_testdata import CATEGORIES, NUMERIC, SHARES, MakeFrame, fake_predictions, make_frame
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from drift import DriftMonitor, DriftReport, MissingColumnError, ReferenceProfile
from drift.stats import EPSILON

CUT_SHIFTED = {"cut": (0.25, 0.26, 0.22, 0.09, 0.18)}  # fewer Ideal, many more Fair


def _window(
    profile: ReferenceProfile, frame: pd.DataFrame, **kwargs: object
) -> tuple[DriftMonitor, DriftReport]:
    monitor = DriftMonitor(profile, **kwargs)  # type: ignore[arg-type]
    monitor.update(frame)
    return monitor, monitor.evaluate()


@pytest.mark.slow
def test_stationary_stream_does_not_cry_wolf(profile: ReferenceProfile) -> None:
    n_windows, size = 200, profile.window_size
    stream = make_frame(np.random.default_rng(99), n_windows * size)  # fresh draws, not holdout
    monitor = DriftMonitor(profile)
    flags = {name: 0 for name in profile.features}
    over_threshold = {name: 0 for name in profile.features}
    any_flag = dataset_flag = 0
    for i in range(n_windows):
        monitor.reset()
        monitor.update(stream.iloc[i * size:(i + 1) * size])
        report = monitor.evaluate()
        for name, fd in report.features.items():
            flags[name] += fd.drift_detected
            over_threshold[name] += fd.effect_size > fd.threshold
        any_flag += bool(report.drifted_features)
        dataset_flag += report.dataset.drift_detected
    # measured with these seeds: 2 feature flags in 1200 (feature, window) pairs (depth once,
    # clarity once), so 1.0 % of windows with any flag, none at dataset level; each effect
    # size exceeded its q99 threshold in at most 1 window in 200
    assert sum(flags.values()) == 2 and max(flags.values()) == 1, flags
    assert any_flag / n_windows == 0.01
    assert dataset_flag == 0
    assert max(over_threshold.values()) == 1, over_threshold  # 0.5 % <= 1 - quantile


def test_scaled_carat_flags_carat_only(profile: ReferenceProfile) -> None:
    rng = np.random.default_rng(21)
    frame = make_frame(rng, 2000, carat_scale=1.3)
    frame["prediction"] = fake_predictions(frame, rng)
    _, report = _window(profile, frame)
    assert report.drifted_features == ("carat",)
    carat = report.features["carat"]
    assert carat.kind == "numeric" and carat.test == "ks" and carat.window_size == 2000
    assert carat.p_value < 1e-10 and carat.effect_size > 10 * carat.threshold
    assert not report.dataset.drift_detected and report.dataset.n_drifted == 1
    assert report.prediction is not None and report.prediction.drift_detected  # price follows


def test_shifted_cut_mix_flags_cut_only(profile: ReferenceProfile) -> None:
    frame = make_frame(np.random.default_rng(22), 2000, shares=CUT_SHIFTED)
    _, report = _window(profile, frame)
    assert report.drifted_features == ("cut",)
    cut = report.features["cut"]
    assert cut.kind == "categorical" and cut.test == "chi2" and cut.p_value < 1e-10
    assert report.prediction is None  # no prediction column in these rows


def test_dataset_flag_follows_the_share_of_drifted_features(profile: ReferenceProfile) -> None:
    rng = np.random.default_rng(23)
    frame = make_frame(rng, 2000, carat_scale=1.3, shares=CUT_SHIFTED)
    frame["depth"] += 1.5
    _, report = _window(profile, frame)
    assert set(report.drifted_features) == {"carat", "depth", "cut"}
    assert report.dataset.share == 0.5 and report.dataset.drift_detected
    _, strict = _window(profile, frame, share_threshold=0.6)
    assert strict.dataset.n_drifted == 3 and not strict.dataset.drift_detected
    one = make_frame(rng, 2000, carat_scale=1.3)
    assert not _window(profile, one)[1].dataset.drift_detected
    assert _window(profile, one, share_threshold=0.1)[1].dataset.drift_detected


def test_report_statistics_equal_scipy_on_the_window(profile: ReferenceProfile) -> None:
    rng = np.random.default_rng(24)
    frame = make_frame(rng, 1500, shares=CUT_SHIFTED)
    frame.loc[:99, "cut"] = "Astor"  # never seen: counted in `__other__`
    _, report = _window(profile, frame)
    depth, ref = report.features["depth"], profile.numeric["depth"]
    oracle = sps.ks_2samp(frame["depth"].to_numpy(), ref.sample)
    assert (depth.statistic, depth.p_value) == (oracle.statistic, oracle.pvalue)
    wasserstein = sps.wasserstein_distance(frame["depth"].to_numpy(), ref.sample)
    assert depth.distance == pytest.approx(wasserstein / ref.scale, rel=1e-12)

    cut, cref = report.features["cut"], profile.categorical["cut"]
    counts = np.array([(frame["cut"] == c).sum() for c in cref.categories] + [100])
    expected = np.clip(cref.proportions, EPSILON, None)
    chi2 = sps.chisquare(counts, counts.sum() * expected / expected.sum())
    assert (cut.statistic, cut.p_value) == pytest.approx((chi2.statistic, chi2.pvalue))
    shares = counts / counts.sum()
    assert cut.distance == pytest.approx(jensenshannon(shares, cref.proportions, base=2))
    by_hand = sum(
        (a - e) * np.log(a / e)
        for a, e in zip(np.clip(shares, EPSILON, None), expected, strict=True)
    )
    assert cut.psi == pytest.approx(by_hand, rel=1e-12)


def test_an_empty_window_gives_a_report_with_no_flag_and_no_nan(profile: ReferenceProfile) -> None:
    report = DriftMonitor(profile).evaluate()
    assert report.n_rows == 0 and report.prediction is None and not report.drifted_features
    assert not report.dataset.drift_detected and report.dataset.share == 0.0
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    carat = data["features"]["carat"]
    assert carat["p_value"] is None and carat["psi"] is None and carat["drift_detected"] is False


def test_no_flag_before_min_window(profile: ReferenceProfile, make: MakeFrame) -> None:
    rng = np.random.default_rng(25)
    monitor = DriftMonitor(profile)  # min_window defaults to window_size // 2 = 1000
    monitor.update(make(rng, 900, carat_scale=2.0))
    early = monitor.evaluate().features["carat"]
    assert early.p_value < 1e-10 and early.effect_size > early.threshold
    assert not early.drift_detected
    monitor.update(make(rng, 200, carat_scale=2.0))
    assert monitor.evaluate().features["carat"].drift_detected


def test_thresholds_scale_with_the_window_fill(profile: ReferenceProfile, make: MakeFrame) -> None:
    rng = np.random.default_rng(26)
    calibrated = profile.thresholds["table"]
    _, half = _window(profile, make(rng, 1000))
    _, full = _window(profile, make(rng, 2000))
    assert full.features["table"].threshold == pytest.approx(calibrated["psi"])
    assert half.features["table"].threshold == pytest.approx(2 * calibrated["psi"])
    _, by_distance = _window(profile, make(rng, 1000), effect="distance")
    table = by_distance.features["table"]
    assert table.threshold == pytest.approx(np.sqrt(2) * calibrated["distance"])
    assert table.effect_size == table.distance


def test_distance_effect_and_threshold_overrides(profile: ReferenceProfile) -> None:
    frame = make_frame(np.random.default_rng(27), 2000, carat_scale=1.3)
    _, by_distance = _window(profile, frame, effect="distance")
    assert by_distance.drifted_features == ("carat",) and by_distance.effect == "distance"
    _, relaxed = _window(profile, frame, thresholds={"carat": 10.0})
    assert relaxed.features["carat"].threshold == 10.0 and not relaxed.drifted_features


def test_unseen_categories_and_out_of_range_values_are_flagged(profile: ReferenceProfile) -> None:
    frame = make_frame(np.random.default_rng(28), 2000)
    frame.loc[:299, "color"] = "Z"
    frame.loc[:299, "table"] = 1000.0
    _, report = _window(profile, frame)
    assert set(report.drifted_features) == {"color", "table"}


def test_non_finite_numeric_values_are_left_out(profile: ReferenceProfile, make: MakeFrame) -> None:
    frame = make(np.random.default_rng(29), 1200)
    frame.loc[:9, "depth"] = np.nan
    _, report = _window(profile, frame)
    assert report.features["depth"].window_size == 1190
    assert report.features["carat"].window_size == 1200 == report.n_rows


def test_buffers_stay_bounded(profile: ReferenceProfile) -> None:
    rng = np.random.default_rng(30)
    monitor = DriftMonitor(profile, window_size=500)
    nbytes = monitor.nbytes
    batch = make_frame(rng, 10_000)
    batch["prediction"] = fake_predictions(batch, rng)
    for i in range(100):
        batch["depth"] = float(i)  # tags the batch
        monitor.update(batch)
    assert monitor.window_fill == 500 and monitor.n_seen == 1_000_000
    assert monitor.nbytes == nbytes == 500 * (3 * 8 + 3 * 2 + 8)
    report = monitor.evaluate()
    assert report.n_rows == 500 and report.features["cut"].window_size == 500
    assert report.prediction is not None and report.prediction.window_size == 500
    # the window holds the newest rows only: all from the last batch
    assert set(monitor._num.view()[:, 1]) == {99.0}
    monitor.reset()
    assert monitor.window_fill == 0 and monitor.n_seen == 0


def test_ring_buffer_keeps_the_newest_rows_across_wrap_around() -> None:
    from drift.ring import RingBuffer

    ring = RingBuffer(5, 1, np.float64)
    ring.extend(np.arange(3.0).reshape(-1, 1))
    ring.extend(np.arange(3.0, 7.0).reshape(-1, 1))  # wraps: 0 and 1 are overwritten
    assert sorted(ring.view()[:, 0]) == [2.0, 3.0, 4.0, 5.0, 6.0]
    ring.extend(np.arange(7.0, 20.0).reshape(-1, 1))  # larger than the ring
    assert sorted(ring.view()[:, 0]) == [15.0, 16.0, 17.0, 18.0, 19.0]


def test_missing_columns_are_named(profile: ReferenceProfile, make: MakeFrame) -> None:
    frame = make(np.random.default_rng(1), 10).drop(columns=["clarity"])
    with pytest.raises(MissingColumnError, match="clarity"):
        DriftMonitor(profile).update(frame)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_size": -1}, "window_size must be >= 1"),
        ({"min_window": 0}, r"min_window must be in \[1, window_size=2000\]"),
        ({"min_window": 2001}, r"min_window must be in \[1, window_size=2000\]"),
        ({"p_value_threshold": 0.0}, r"p_value_threshold must be in \(0, 1\)"),
        ({"p_value_threshold": 1.5}, r"p_value_threshold must be in \(0, 1\)"),
        ({"share_threshold": 0.0}, r"share_threshold must be in \(0, 1\]"),
        ({"share_threshold": 1.01}, r"share_threshold must be in \(0, 1\]"),
        ({"effect": "kl"}, "effect must be 'psi' or 'distance'"),
        ({"thresholds": {"weight": 0.1}}, r"unknown feature\(s\) \['weight'\]"),
        ({"thresholds": {"carat": -0.1}}, "finite and >= 0"),
        ({"thresholds": {"carat": float("nan")}}, "finite and >= 0"),
    ],
)
def test_bad_monitor_parameters_raise_value_error(
    profile: ReferenceProfile, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DriftMonitor(profile, **kwargs)  # type: ignore[arg-type]


def test_shares_used_by_the_tests_are_distributions() -> None:
    for name, shares in {**SHARES, **CUT_SHIFTED}.items():
        assert sum(shares) == pytest.approx(1.0) and len(shares) == len(CATEGORIES[name])
    assert NUMERIC == ("carat", "depth", "table")
