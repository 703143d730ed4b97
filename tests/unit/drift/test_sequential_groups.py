"""Groups: N replicas, each seeing 1/N of the traffic, against one monitor seeing it all.

With an ERT stated in events, a replica fed N times slower alarms N times less often in time,
so the N replicas together raise false alarms at the rate of one monitor at full rate; each
replica's delay, in events of the whole stream, grows about N-fold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from drift.sequential import Direction, DriftFlag

pytestmark = pytest.mark.slow
N = 3
P0 = np.full(10, 0.1)
SCORES = 2 * (np.arange(10) + 0.5) / 10 - 1
DIRECTIONS = (Direction("location", SCORES, (-0.4, -0.2, 0.2, 0.4)),)
GAMMA = 50.0  # short runs: a few hundred alarms in the stream


def _flag(gamma: float = GAMMA) -> DriftFlag:
    return DriftFlag("x", P0, DIRECTIONS, h=math.log(4 * gamma), clear_h=1.0)


def _alarms(codes: np.ndarray) -> list[int]:
    """Alarm events of one flag whose bank restarts after each alarm (a renewal process)."""
    flag, out = _flag(), []
    for lo in range(0, codes.size, 50_000):
        batch = codes[lo:lo + 50_000]
        start = 0
        while start < batch.size:
            hit = flag.bank.update(batch[start:])
            if hit is None:
                break
            out.append(lo + start + hit[0])
            flag.bank.reset()
            start += hit[0] + 1
    return out


def test_the_group_false_alarm_rate_equals_one_monitor_at_full_rate() -> None:
    codes = np.random.default_rng(31).choice(10, 3_000_000, p=P0)
    single = len(_alarms(codes))
    group = sum(len(_alarms(codes[r::N])) for r in range(N))  # round-robin split
    assert single > 100  # enough alarms to compare rates
    assert abs(group - single) <= 4 * math.sqrt(group + single)
    assert codes.size / single >= GAMMA  # the ERT promise, in events of the whole stream


def test_each_replica_sees_a_shift_about_n_times_later() -> None:
    tilted = P0 * np.exp(0.3 * SCORES)
    single, replicas = [], []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        codes = np.concatenate([rng.choice(10, 3000, p=P0),
                                rng.choice(10, 60_000, p=tilted / tilted.sum())])
        single.append(_flag(1e6).update(codes, 0)[0].event - 3000)
        for r in range(N):
            local = _flag(1e6).update(codes[r::N], 0)[0].event  # index within the replica
            replicas.append(r + N * local - 3000)  # the same event in the whole stream
    assert min(single) > 0 and min(replicas) > 0  # no false alarm before the shift
    assert 2.5 <= float(np.mean(replicas)) / float(np.mean(single)) <= 3.5
