"""Per-message failure logs are rate-limited per key, and what was suppressed is reported."""

from __future__ import annotations

import logging

import pytest

from consumer.edge.clients import kafka_log
from consumer.ops.ratelimit import RateLimitedLog, RateLimitFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limited_log_counts_and_reports_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limited = RateLimitedLog(logging.getLogger("t"), limit=2, period=60, clock=clock)
    with caplog.at_level(logging.WARNING):
        logged = [limited.log(logging.WARNING, "not_json", "bad %d", i) for i in range(5)]
        assert logged == [True, True, False, False, False]
        assert limited.log(logging.WARNING, "oversize", "other key") is True
        clock.now = 61
        assert limited.log(logging.WARNING, "not_json", "bad again") is True
    assert "3 more 'not_json' messages suppressed" in caplog.text
    with pytest.raises(ValueError, match="limit must be"):
        RateLimitedLog(logging.getLogger("t"), limit=0)


def librdkafka_record(client: str, text: str) -> logging.LogRecord:
    """A record shaped like confluent-kafka's `logger` callback makes them."""
    return logging.LogRecord("consumer.librdkafka", logging.ERROR, __file__, 0,
                             "%s [%s] %s", ("FAIL", client, text), None)


def test_filter_limits_each_librdkafka_client_and_reports_the_dropped() -> None:
    clock = Clock()
    limit = RateLimitFilter(limit=3, period=60, clock=clock)
    kept = [limit.filter(librdkafka_record("rdkafka#producer-1", f"refused {i}"))
            for i in range(10)]
    assert kept == [True] * 3 + [False] * 7
    # another client has its own allowance
    assert limit.filter(librdkafka_record("rdkafka#consumer-2", "refused"))
    clock.now = 60
    record = librdkafka_record("rdkafka#producer-1", "refused again")
    assert limit.filter(record)
    assert record.getMessage() == ("FAIL [rdkafka#producer-1] refused again "
                                   "(7 similar messages suppressed in the last 60 s)")


def test_the_consumer_librdkafka_logger_is_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger=kafka_log.name):
        for i in range(50):
            kafka_log.handle(librdkafka_record("rdkafka#test-flood", f"refused {i}"))
    flood = [r for r in caplog.records if "rdkafka#test-flood" in r.getMessage()]
    assert len(flood) == 10
