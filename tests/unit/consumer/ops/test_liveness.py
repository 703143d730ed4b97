"""/healthz outlasts the slowest healthy batch (issue 12.8): a watched transactional call may take
its timeout plus HANG_GRACE and be retried, and a batch holds several such calls."""

from __future__ import annotations

import pytest

import consumer.ops.http as http
from consumer.app import ScoringService
from consumer.edge.delivery import HANG_GRACE, RETRIABLE_ATTEMPTS, TXN_TIMEOUT
from consumer.loop.retry import BACKOFF_MAX
from consumer.settings import ConsumerSettings


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_healthz_stays_ok_through_the_slowest_healthy_batch(
    guarantee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(http.time, "monotonic", clock)
    settings = ConsumerSettings(guarantee=guarantee)
    health = ScoringService(settings).health
    health.beat()
    one_call = RETRIABLE_ATTEMPTS * (TXN_TIMEOUT + HANG_GRACE)  # 3 x 45 s (the case)
    # produce, then send_offsets and commit each retried to the end, then the abort, then
    # the backoff before the batch is read again: the loop beats only after all of it
    slowest = TXN_TIMEOUT + 3 * one_call + BACKOFF_MAX + settings.batch_timeout
    clock.now += one_call
    assert health.alive
    clock.now += slowest - one_call
    assert health.alive
    clock.now += settings.liveness_timeout  # ... and then a loop that really stopped
    assert not health.alive
