"""Pacer: a cumulative schedule on a (fake) monotonic clock."""

from __future__ import annotations

import pytest

from producer.pacing import MIN_WAIT, Pacer


def simulate(pacer: Pacer, seconds: float, tick: float) -> int:
    """Drive the pacer like the run loop does: send the allowance, else wait."""
    now, sent = 0.0, 0
    pacer.start(now)
    while now < seconds:
        n = pacer.allowance(now)
        if n:
            pacer.record(n)
            sent += n
        else:
            now += max(pacer.wait(now), tick)
    return sent


@pytest.mark.parametrize("rate", [5000.0, 20_000.0, 333.3])
@pytest.mark.parametrize("tick", [0.001, 0.0037])
def test_rate_is_exact_over_time_whatever_the_wakeup_granularity(rate: float, tick: float) -> None:
    sent = simulate(Pacer(rate), 10.0, tick)
    assert abs(sent - rate * 10) <= rate * tick + 2


def test_rate_zero_means_unlimited() -> None:
    pacer = Pacer(0, max_batch=777)
    pacer.start(0.0)
    assert pacer.allowance(0.0) == 777 and pacer.wait(0.0) == 0.0


def test_batches_are_capped() -> None:
    pacer = Pacer(1_000_000, max_batch=1000)
    pacer.start(0.0)
    assert pacer.allowance(0.5) == 1000


def test_a_long_stall_is_not_burst_out() -> None:
    pacer = Pacer(1000, max_batch=10**9, max_lag=1.0)
    pacer.start(0.0)
    assert pacer.allowance(10.0) == 1000  # only one second of backlog survives
    pacer.record(1000)
    assert pacer.allowance(10.0) == 0
    assert pacer.wait(10.0) == pytest.approx(0.001)


def test_wait_never_spins() -> None:
    pacer = Pacer(1_000_000)
    pacer.start(0.0)
    pacer.record(pacer.allowance(0.0))
    assert pacer.wait(0.0) >= MIN_WAIT


def test_bad_rate_raises() -> None:
    with pytest.raises(ValueError, match="rate must be a finite number >= 0 events/s, got -1"):
        Pacer(-1)
