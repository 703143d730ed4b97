"""common.prometheus_text: a scrape of a real registry read back, and histogram_quantile
against quantiles computed by hand with Prometheus' rules."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from common.prometheus_text import histogram_quantile, parse

INF = math.inf


@pytest.fixture
def scrape():
    registry = CollectorRegistry()
    invalid = Counter("app_invalid_events", "invalid", ["reason"], registry=registry)
    invalid.labels(reason="not_json").inc(3)
    invalid.labels(reason="bad_field").inc(4)
    Gauge("app_lag", "lag", registry=registry).set(12)
    latency = Histogram("app_latency_seconds", "latency", ["route"], buckets=(0.1, 1.0),
                        registry=registry)
    for route, value in (("a", 0.05), ("a", 0.5), ("b", 0.5), ("b", 5.0)):
        latency.labels(route=route).observe(value)
    return parse(generate_latest(registry).decode(), at=42.0)


def test_values_are_looked_up_by_name_and_exact_labels(scrape) -> None:
    assert scrape.at == 42.0
    assert scrape.value("app_lag") == 12
    assert scrape.value("app_invalid_events_total", reason="not_json") == 3
    assert scrape.value("app_invalid_events_total") is None  # only labelled samples exist
    assert scrape.value("app_missing") is None


def test_totals_sum_over_the_other_labels(scrape) -> None:
    assert scrape.total("app_invalid_events_total") == 7
    assert scrape.total("app_invalid_events_total", reason="bad_field") == 4
    assert scrape.total("app_invalid_events_total", reason="other") is None
    assert scrape.total("app_latency_seconds_count") == 4
    assert scrape.by_label("app_invalid_events_total", "reason") == {"not_json": 3,
                                                                      "bad_field": 4}


def test_buckets_are_cumulative_and_summed_by_le(scrape) -> None:
    assert scrape.buckets("app_latency_seconds") == [(0.1, 1), (1.0, 3), (INF, 4)]
    assert scrape.buckets("app_latency_seconds", route="b") == [(0.1, 0), (1.0, 1), (INF, 2)]
    assert scrape.buckets("app_missing") == []


def test_text_that_is_not_an_exposition_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse("this is not metrics\n")


BUCKETS = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (INF, 40.0)]


@pytest.mark.parametrize(("q", "expected"), [
    (0.25, 0.1),                   # rank 10: the top of the lowest bucket, which starts at 0
    (0.1, 0.04),                   # rank 4: 0 + 0.1 * 4/10
    (0.5, 0.3),                    # rank 20: 0.1 + 0.4 * (20-10)/(30-10)
    (0.9, 0.8),                    # rank 36: 0.5 + 0.5 * (36-30)/(40-30)
    (1.0, 1.0),                    # rank 40: the top of the highest finite bucket
])
def test_histogram_quantile_interpolates_inside_the_bucket(q: float, expected: float) -> None:
    assert histogram_quantile(q, BUCKETS) == pytest.approx(expected)


def test_a_rank_in_the_inf_bucket_gives_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.5, [(1.0, 2.0), (2.0, 4.0), (INF, 10.0)]) == 2.0


def test_a_lowest_bound_at_or_below_zero_is_returned_as_it_is() -> None:
    assert histogram_quantile(0.25, [(-1.0, 2.0), (0.0, 4.0), (INF, 8.0)]) == -1.0


def test_buckets_are_sorted_and_equal_bounds_added_up() -> None:
    buckets = [(INF, 10.0), (1.0, 2.0), (2.0, 10.0), (1.0, 3.0)]  # (1, 5), (2, 10), (+Inf, 10)
    assert histogram_quantile(0.5, buckets) == pytest.approx(1.0)
    assert histogram_quantile(0.75, buckets) == pytest.approx(1.5)  # 1 + 1 * (7.5-5)/(10-5)


def test_counts_that_fall_are_raised_to_the_previous_bucket() -> None:
    # (2, 4) reads as (2, 6): rank 7 is 1 of the 2 observations in (2, 3]
    buckets = [(1.0, 6.0), (2.0, 4.0), (3.0, 8.0), (INF, 8.0)]
    assert histogram_quantile(0.875, buckets) == pytest.approx(2.5)


@pytest.mark.parametrize("buckets", [
    [],
    [(1.0, 3.0), (2.0, 4.0)],      # no +Inf bucket
    [(INF, 4.0)],                  # nothing but +Inf
    [(1.0, 0.0), (INF, 0.0)],      # no observation
])
def test_histogram_quantile_is_nan_without_a_usable_histogram(buckets) -> None:
    assert math.isnan(histogram_quantile(0.5, buckets))


def test_q_outside_zero_to_one_is_an_infinity_and_nan_stays_nan() -> None:
    assert histogram_quantile(-0.1, BUCKETS) == -INF
    assert histogram_quantile(1.1, BUCKETS) == INF
    assert math.isnan(histogram_quantile(math.nan, BUCKETS))


def test_histogram_quantile_reads_a_scrape(scrape) -> None:
    # 4 observations: 1 in (0, 0.1], 2 in (0.1, 1], 1 above: the median is rank 2 of 4
    assert histogram_quantile(0.5, scrape.buckets("app_latency_seconds")) == pytest.approx(0.55)
