"""ReferenceProfile: what it keeps, how it calibrates, and its JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from drift_testdata import CATEGORIES, NUMERIC, MakeFrame

from drift import MissingColumnError, ProfileError, ReferenceProfile, SequentialMonitor
from drift.reference import OTHER


def _small_profile(make: MakeFrame, seed: int = 42, **kwargs: object) -> ReferenceProfile:
    rng = np.random.default_rng(11)
    return ReferenceProfile.build(
        make(rng, 3000), numeric=NUMERIC, categorical=list(CATEGORIES), holdout=make(rng, 1000),
        window_size=200, calibration_windows=50, seed=seed, **kwargs,  # type: ignore[arg-type]
    )


def test_numeric_reference_has_quantile_bins_overflow_buckets_and_a_bounded_sample(
    profile: ReferenceProfile, reference_data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, _ = reference_data
    carat = profile.numeric["carat"]
    assert carat.edges[0] == train["carat"].min() and carat.edges[-1] == train["carat"].max()
    assert 2 <= carat.edges.size <= 11 and np.all(np.diff(carat.edges) > 0)  # deduplicated
    assert carat.n_buckets == carat.edges.size + 1
    assert carat.proportions[0] == 0.0 and carat.proportions[-1] == 0.0  # nothing out of range
    assert carat.proportions.sum() == pytest.approx(1.0)
    assert carat.sample.size == 5000 and np.all(np.diff(carat.sample) >= 0)
    assert carat.scale == pytest.approx(train["carat"].std(ddof=0))


def test_values_outside_the_training_range_go_to_the_overflow_buckets(
    profile: ReferenceProfile,
) -> None:
    depth = profile.numeric["depth"]
    codes = depth.codes(np.array([-1e9, depth.edges[0], depth.edges[-1], 1e9]))
    assert codes.tolist() == [0, 1, depth.n_buckets - 2, depth.n_buckets - 1]


def test_categorical_reference_learns_categories_and_sends_unseen_ones_to_other(
    profile: ReferenceProfile,
) -> None:
    cut = profile.categorical["cut"]
    assert cut.categories == tuple(sorted(CATEGORIES["cut"]))  # learnt from plain strings
    assert cut.proportions[-1] == 0.0 and cut.proportions.sum() == pytest.approx(1.0)
    codes = cut.codes(pd.Series(["Ideal", "Astor", None, "Fair"], dtype=object))
    assert codes.tolist() == [cut.categories.index("Ideal"), cut.other_code,
                              cut.other_code, cut.categories.index("Fair")]
    as_category = pd.Series(["Fair", "Astor"], dtype="category")
    assert cut.codes(as_category).tolist() == [cut.categories.index("Fair"), cut.other_code]


def test_categorical_codes_are_the_same_on_every_path(profile: ReferenceProfile) -> None:
    """Known strings (looked up value by value), a str column, unknown values of other types
    and missing ones (hashed once by `factorize`): one code per value, whatever the path."""
    cut = profile.categorical["cut"]
    known = list(cut.categories) * 3
    expected = [cut.categories.index(c) for c in known]
    assert cut.codes(pd.Series(known, dtype=object)).tolist() == expected
    assert cut.codes(pd.Series(known, dtype="str")).tolist() == expected
    assert cut.codes(np.array(known, dtype=object)).dtype == np.int16
    odd = pd.Series([*known, b"Ideal", 3, float("nan"), None], dtype=object)
    assert cut.codes(odd).tolist() == [*expected, *[cut.other_code] * 4]


def test_known_categories_can_be_given_in_order(make: MakeFrame) -> None:
    rng = np.random.default_rng(3)
    frame = make(rng, 500)
    built = ReferenceProfile.build(
        frame, numeric=["carat"], categorical={"cut": [*CATEGORIES["cut"], "Astor"]},
        window_size=100, calibration_windows=20,
    )
    cut = built.categorical["cut"]
    assert cut.categories == (*CATEGORIES["cut"], "Astor")
    assert cut.proportions[5] == 0.0 and cut.n_buckets == 7  # + `__other__`


def test_prediction_and_errors_are_profiled(profile: ReferenceProfile) -> None:
    assert profile.prediction is not None and profile.prediction.name == "prediction"
    assert set(profile.thresholds) == {*NUMERIC, *CATEGORIES, "prediction"}
    errors = profile.errors
    assert errors is not None and errors.n == 10_000
    assert errors.std == pytest.approx(500.0, rel=0.03) and abs(errors.mean) < 15.0
    assert errors.mae == pytest.approx(500.0 * np.sqrt(2 / np.pi), rel=0.03)
    assert errors.rmse == pytest.approx(np.hypot(errors.mean, errors.std))


def test_calibrated_thresholds_are_positive_and_recorded_with_their_window(
    profile: ReferenceProfile,
) -> None:
    assert profile.window_size == 2000 and profile.quantile == 0.99
    assert profile.calibration_source == "holdout" and profile.calibration_windows == 200
    for name, values in profile.thresholds.items():
        assert set(values) == {"psi", "distance"}, name
        assert 0.0 < values["psi"] < 0.05, (name, values)  # noise level of 2000-row windows
        assert 0.0 < values["distance"] < 0.15, (name, values)


def test_calibration_is_reproducible_from_the_seed(make: MakeFrame) -> None:
    first, again = _small_profile(make), _small_profile(make)
    other_seed = _small_profile(make, seed=43)
    assert first.thresholds == again.thresholds
    assert first.thresholds != other_seed.thresholds


def test_without_holdout_calibration_uses_split_halves_of_train(make: MakeFrame) -> None:
    rng = np.random.default_rng(5)
    built = ReferenceProfile.build(
        make(rng, 4000), numeric=NUMERIC, categorical=list(CATEGORIES),
        window_size=200, calibration_windows=50,
    )
    assert built.calibration_source == "split"
    assert all(v["psi"] > 0 for v in built.thresholds.values())


def test_save_load_round_trip(profile: ReferenceProfile, tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    profile.save(path)
    loaded = ReferenceProfile.load(path)
    assert loaded.to_dict() == profile.to_dict()
    assert json.loads(path.read_text())["format_version"] == 4
    assert path.stat().st_size < 1_000_000
    # the loaded profile judges a stream exactly as the original does
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({name: profile.numeric[name].sample[:500] for name in NUMERIC})
    for name, categories in CATEGORIES.items():
        frame[name] = rng.choice(np.array(categories, dtype=object), size=500)
    reports = []
    for p in (profile, loaded):
        monitor = SequentialMonitor(p, calibrate=False)  # the union-bound threshold: fast
        monitor.update(frame)
        reports.append(monitor.evaluate().to_dict())
    assert reports[0] == reports[1]


def test_to_dict_is_strict_json_and_never_holds_the_training_set(
    profile: ReferenceProfile, reference_data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert len(text) < 1_000_000
    data = json.loads(text)
    assert all(len(ref["sample"]) <= 5000 < len(reference_data[0]) for ref in data["numeric"])


def test_load_rejects_an_unknown_format_version(profile: ReferenceProfile, tmp_path: Path) -> None:
    data = profile.to_dict() | {"format_version": 99}
    with pytest.raises(ProfileError, match="format_version 99"):
        ReferenceProfile.from_dict(data)
    broken = profile.to_dict()
    del broken["thresholds"]
    with pytest.raises(ProfileError, match="malformed"):
        ReferenceProfile.from_dict(broken)
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ProfileError):
        ReferenceProfile.load(path)


def test_missing_columns_are_named(make: MakeFrame) -> None:
    frame = make(np.random.default_rng(1), 100).drop(columns=["table"])
    with pytest.raises(MissingColumnError, match="table"):
        ReferenceProfile.build(frame, numeric=NUMERIC, categorical=list(CATEGORIES))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_size": -5}, "window_size must be >= 1"),
        ({"window_size": 0}, "window_size must be >= 1"),
        ({"quantile": 1.0}, r"quantile must be in \(0, 1\)"),
        ({"quantile": 0.0}, r"quantile must be in \(0, 1\)"),
        ({"n_bins": 1}, "n_bins must be >= 2"),
        ({"sample_size": 0}, "sample_size must be >= 1"),
        ({"calibration_windows": 0}, "calibration_windows must be >= 1"),
        ({"numeric": ["carat", "carat"]}, "distinct"),
        ({"numeric": ["prediction"]}, "distinct"),
    ],
)
def test_bad_build_parameters_raise_value_error(
    make: MakeFrame, kwargs: dict[str, object], message: str
) -> None:
    frame = make(np.random.default_rng(1), 100)
    frame["prediction"] = 1.0
    params: dict[str, object] = {"numeric": NUMERIC, "categorical": list(CATEGORIES)} | kwargs
    with pytest.raises(ValueError, match=message):
        ReferenceProfile.build(frame, **params)  # type: ignore[arg-type]


def test_empty_train_is_a_profile_error(make: MakeFrame) -> None:
    empty = make(np.random.default_rng(1), 0)
    with pytest.raises(ProfileError, match="empty"):
        ReferenceProfile.build(empty, numeric=NUMERIC, categorical=list(CATEGORIES))


def test_other_is_reserved(make: MakeFrame) -> None:
    frame = make(np.random.default_rng(1), 50)
    with pytest.raises(ProfileError, match=OTHER):
        ReferenceProfile.build(frame, numeric=["carat"], categorical={"cut": ["Ideal", OTHER]})


def test_inconsistent_profiles_are_refused(profile: ReferenceProfile) -> None:
    short = profile.to_dict()
    short["numeric"][0]["proportions"] = short["numeric"][0]["proportions"][:-1]
    with pytest.raises(ProfileError, match="inconsistent reference for 'carat'"):
        ReferenceProfile.from_dict(short)
    unthresholded = profile.to_dict()
    del unthresholded["thresholds"]["color"]
    with pytest.raises(ProfileError, match=r"thresholds for \['color'\]"):
        ReferenceProfile.from_dict(unthresholded)


def test_a_constant_column_still_has_an_in_range_bucket(make: MakeFrame) -> None:
    frame = make(np.random.default_rng(4), 400)
    frame["table"] = 57.0
    built = ReferenceProfile.build(
        frame, numeric=["table"], categorical=["cut"], window_size=100, calibration_windows=20
    )
    table = built.numeric["table"]
    assert table.edges.tolist() == [57.0, 57.0] and table.proportions.tolist() == [0, 1, 0]
    assert table.codes(np.array([56.0, 57.0, 58.0])).tolist() == [0, 1, 2]
    assert table.scale == 1.0  # no spread: Wasserstein stays in the column's own units
