"""demo.metrics_reader: rates and latency quantiles from two scrapes of a real registry.

The registry is filled through the consumer's own metric classes, so the names the demo reads
are the names the consumer exposes.
"""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from consumer.drift.metrics import DriftMetrics
from consumer.ops.metrics import ConsumerMetrics
from demo.metrics_reader import (
    LATENCY,
    FeatureStatus,
    bucket_delta,
    consumer_status,
    parse,
    quantile,
    rate,
)

FEATURES = ("carat", "depth", "table", "cut", "color", "clarity")


def scrape(registry: CollectorRegistry, at: float):
    return parse(generate_latest(registry).decode(), at=at)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_rates_and_quantiles_come_from_the_interval_between_two_scrapes(registry) -> None:
    m = ConsumerMetrics(registry)
    m.events_consumed.inc(5000)
    m.predictions_published.inc(4990)
    for _ in range(1000):  # before the first scrape: must not weigh on the quantiles
        m.end_to_end_latency.observe(10.0)
    first = scrape(registry, at=100.0)

    m.events_consumed.inc(2000)
    m.predictions_published.inc(1900)
    m.dlq_published.inc(100)
    m.invalid_events.labels(reason="invalid_json").inc(100)
    for value, count in ((0.004, 50), (0.02, 40), (0.3, 10)):
        for _ in range(count):
            m.end_to_end_latency.observe(value)
    m.set_lag({("diamonds.events", 0): 7, ("diamonds.events", 1): 5})
    second = scrape(registry, at=102.0)

    assert rate(first, second, "diamond_events_consumed_total") == pytest.approx(1000.0)
    assert rate(None, second, "diamond_events_consumed_total") is None
    status = consumer_status(first, second)
    assert status.rate_in == pytest.approx(1000.0)
    assert status.rate_out == pytest.approx(950.0)
    assert (status.consumed, status.predictions, status.dlq) == (7000, 6890, 100)
    assert status.lag == 12
    # 100 observations: 50 in (0.0025, 0.005], 40 in (0.01, 0.025], 10 in (0.25, 0.5]
    assert status.latency[0.5] == pytest.approx(0.005)
    assert status.latency[0.95] == pytest.approx(0.25 + 0.25 * 5 / 10)
    assert status.latency[0.99] == pytest.approx(0.25 + 0.25 * 9 / 10)


def test_quantiles_fall_back_to_the_cumulative_buckets_when_nothing_moved(registry) -> None:
    m = ConsumerMetrics(registry)
    for _ in range(10):
        m.end_to_end_latency.observe(0.2)
    first = scrape(registry, at=1.0)
    second = scrape(registry, at=2.0)
    assert bucket_delta(first, second, LATENCY) == second.buckets(LATENCY)
    assert consumer_status(first, second).latency[0.5] == pytest.approx(0.175)
    assert consumer_status(first, second).rate_in == 0.0


def test_quantile_follows_histogram_quantile_edge_cases() -> None:
    inf = math.inf
    assert quantile(0.5, []) is None
    assert quantile(0.5, [(1.0, 0.0), (inf, 0.0)]) is None  # no observation
    assert quantile(0.5, [(1.0, 0.0), (2.0, 0.0), (inf, 4.0)]) == 2.0  # +Inf: highest bound
    assert quantile(0.25, [(1.0, 4.0), (inf, 4.0)]) == pytest.approx(0.25)  # from 0 upwards
    with pytest.raises(ValueError, match="q must be in"):
        quantile(1.5, [(inf, 1.0)])


def test_counter_reset_gives_no_negative_rate(registry) -> None:
    m = ConsumerMetrics(registry)
    m.events_consumed.inc(100)
    before = scrape(registry, at=0.0)
    after = scrape(CollectorRegistry(), at=1.0)  # a restarted consumer
    assert rate(before, after, "diamond_events_consumed_total") is None
    ConsumerMetrics(restarted := CollectorRegistry())
    assert rate(before, scrape(restarted, at=1.0), "diamond_events_consumed_total") == 0.0


def test_drift_series_are_read_per_feature(registry) -> None:
    ConsumerMetrics(registry)
    drift = DriftMetrics(registry, FEATURES)
    for name in FEATURES:
        drift.feature_statistic.labels(feature=name).set(0.5)
        drift.feature_threshold.labels(feature=name).set(21.4)
    drift.feature_statistic.labels(feature="carat").set(2.5)
    drift.feature_threshold.labels(feature="carat").set(13.8)  # raised: the clearing pair
    drift.feature_detected.labels(feature="carat").set(1)
    drift.prediction.statistic.set(1.5)
    drift.prediction.threshold.set(13.8)
    drift.prediction.detected.set(1)
    drift.dataset_share.set(1 / 6)
    drift.concept_mae_ratio.set(7.5)
    drift.concept.statistic.set(3.0)
    drift.concept.threshold.set(13.8)
    drift.concept.detected.set(1)
    drift.labels["matched"].inc(321)
    drift.events.inc(1500)
    drift.last_evaluation.set(1234.5)

    status = consumer_status(None, scrape(registry, at=1236.0))
    assert list(status.features) == list(FEATURES)
    carat = status.features["carat"]
    assert (carat.statistic, carat.threshold, carat.detected) == (2.5, 13.8, True)
    assert not status.features["depth"].detected
    assert status.prediction == FeatureStatus(1.5, 13.8, True)
    assert status.concept == FeatureStatus(3.0, 13.8, True)
    assert status.dataset_share == pytest.approx(1 / 6) and not status.dataset_detected
    assert (status.concept_mae_ratio, status.concept_detected) == (7.5, True)
    assert status.labels_matched == 321
    assert (status.drift_events, status.last_evaluation) == (1500, 1234.5)


def test_nan_statistics_before_the_first_evaluation_read_as_missing(registry) -> None:
    DriftMetrics(registry, FEATURES)
    status = consumer_status(None, scrape(registry, at=1.0))
    assert status.features["carat"].statistic is None
    assert status.concept_mae_ratio is None and status.dataset_share is None
    assert not any(fs.detected for fs in status.features.values())
