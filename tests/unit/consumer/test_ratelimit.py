"""Per-message failure logs are rate-limited per key, and what was suppressed is reported."""

from __future__ import annotations

import logging

import pytest

from consumer.ratelimit import RateLimitedLog


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
