"""EventGenerator: deterministic per seed, schema-valid, independent of how it is consumed."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from model.features import FEATURES
from model.schema import validate_event
from producer import SCENARIOS, EventGenerator, load_test_rows

STAMP = 1_767_225_600_000


def decoded(gen: EventGenerator, n: int) -> list[dict[str, object]]:
    return [orjson.loads(v) for v in gen.take(n, event_time=STAMP).values]


def strip(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in e.items() if k not in ("event_id", "event_time")} for e in events]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_same_seed_gives_identical_events_and_labels(
    test_rows: pd.DataFrame, scenario: str
) -> None:
    a = EventGenerator(test_rows, scenario=scenario, seed=3, run_id="a", drift_onset=500)
    b = EventGenerator(test_rows, scenario=scenario, seed=3, run_id="b", drift_onset=500)
    batch_a, batch_b = a.take(3000), b.take(3000)
    assert strip([orjson.loads(v) for v in batch_a.values]) == strip(
        [orjson.loads(v) for v in batch_b.values]
    )
    assert batch_a.prices == batch_b.prices


def test_different_seed_gives_different_events(test_rows: pd.DataFrame) -> None:
    a = decoded(EventGenerator(test_rows, seed=1), 1000)
    b = decoded(EventGenerator(test_rows, seed=2), 1000)
    assert sum(x == y for x, y in zip(strip(a), strip(b), strict=True)) < 50


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("strength", [1.0, 10.0])
def test_every_event_validates_against_the_schema(
    test_rows: pd.DataFrame, scenario: str, strength: float
) -> None:
    gen = EventGenerator(test_rows, scenario=scenario, run_id="r1", drift_strength=strength,
                         drift_ramp=1000)
    gen.take(7)  # start mid-chunk
    batch = gen.take(2500)
    assert batch.first_index == 7 and len(batch) == 2500
    for offset, (key, value) in enumerate(zip(batch.keys, batch.values, strict=True)):
        event = validate_event(orjson.loads(value))
        assert event.event_id == f"r1-{7 + offset}" == key.decode()
        assert event.event_time == batch.event_time
    assert all(isinstance(p, int) and p > 0 for p in batch.prices)


def test_payload_has_exactly_the_schema_fields(test_rows: pd.DataFrame) -> None:
    (event,) = decoded(EventGenerator(test_rows, run_id="x"), 1)
    assert list(event) == ["event_id", *("carat", "cut", "color", "clarity", "depth", "table"),
                           "event_time"]
    assert event["event_time"] == STAMP


def test_stream_does_not_depend_on_batch_sizes(test_rows: pd.DataFrame) -> None:
    whole = EventGenerator(test_rows, scenario="gradual-drift", drift_ramp=1500).frame(4000)
    gen = EventGenerator(test_rows, scenario="gradual-drift", drift_ramp=1500)
    parts = []
    for size in (1, 999, 1024, 3, 1500, 473):
        parts.append(gen.frame(size))
    pieces = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(pieces, whole)
    assert gen.next_index == 4000


def test_take_and_frame_share_one_stream(test_rows: pd.DataFrame) -> None:
    whole = EventGenerator(test_rows, seed=9).frame(300)
    gen = EventGenerator(test_rows, seed=9)
    first = strip([orjson.loads(v) for v in gen.take(100, event_time=STAMP).values])
    rest = gen.frame(200)
    assert first == whole.loc[:99, list(FEATURES)].to_dict("records")
    pd.testing.assert_frame_equal(rest.reset_index(drop=True),
                                  whole.iloc[100:].reset_index(drop=True))


def test_load_test_rows_is_the_lab_test_split(
    diamond_split: tuple[pd.DataFrame, pd.DataFrame], test_rows: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(load_test_rows(), test_rows)
    assert len(test_rows) == len(diamond_split[1]) == 10_788


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scenario": "nope"}, "unknown scenario 'nope'"),
        ({"chunk_size": 0}, "chunk_size must be >= 1"),
        ({"drift_ramp": 0}, "ramp must be >= 1"),
        ({"drift_strength": -1.0}, r"strength must be in \[0, 10\]"),
    ],
)
def test_bad_parameters_raise(test_rows: pd.DataFrame, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EventGenerator(test_rows, **kwargs)


def test_source_without_feature_columns_is_refused(test_rows: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="price"):
        EventGenerator(test_rows.drop(columns=["price"]))
    with pytest.raises(ValueError, match="needs rows"):
        EventGenerator(test_rows.iloc[:0])
