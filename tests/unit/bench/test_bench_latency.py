"""bench.latency.histogram_quantiles: the consumer's latency histogram as p50/p95/p99 in ms,
read from a scrape of the consumer's own metric class."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from bench.latency import histogram_quantiles
from common.prometheus_text import parse
from consumer.ops.metrics import ConsumerMetrics


def test_quantiles_in_ms_from_the_consumers_histogram() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry)
    assert histogram_quantiles(parse(generate_latest(registry).decode())) is None  # empty
    for value, count in ((0.004, 50), (0.02, 40), (0.3, 10)):
        for _ in range(count):
            metrics.end_to_end_latency.observe(value)
    # 100 observations: 50 in (0.0025, 0.005], 40 in (0.01, 0.025], 10 in (0.25, 0.5]
    assert histogram_quantiles(parse(generate_latest(registry).decode())) == {
        "p50": 5.0, "p95": 375.0, "p99": 475.0}
