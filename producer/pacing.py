"""Rate limiting against a monotonic clock, in small batches.

The schedule is cumulative: `t` seconds after `start`, at most ``floor(t * rate)`` events have been
allowed, so rounding and sleep overshoot never accumulate. The caller asks for an `allowance`,
sends that many events in one batch, `record`s them, and waits `wait()` seconds (while polling
the producer) when nothing is allowed. After a stall longer than `max_lag` seconds the backlog
is dropped rather than sent in one burst. ``rate == 0`` means as fast as possible.
"""

from __future__ import annotations

import math

MIN_WAIT = 0.001  # below librdkafka's poll resolution (1 ms) a wait would spin


class Pacer:
    def __init__(self, rate: float, *, max_batch: int = 1000, max_lag: float = 1.0) -> None:
        if rate < 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a finite number >= 0 events/s, got {rate}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.rate = rate
        self.max_batch = max_batch
        self.max_lag = max_lag
        self._start = 0.0
        self._issued = 0

    def start(self, now: float) -> None:
        self._start = now
        self._issued = 0

    def allowance(self, now: float) -> int:
        """Events that may be sent at `now` (at most `max_batch`)."""
        if self.rate == 0:
            return self.max_batch
        due = math.floor((now - self._start) * self.rate) - self._issued
        backlog = self.rate * self.max_lag
        if due > backlog:  # a long stall: forget the backlog instead of bursting it
            self._start += (due - backlog) / self.rate
            due = math.floor((now - self._start) * self.rate) - self._issued
        return max(0, min(due, self.max_batch))

    def record(self, sent: int) -> None:
        self._issued += sent

    def wait(self, now: float) -> float:
        """Seconds until the next event is allowed (at least `MIN_WAIT`)."""
        if self.rate == 0:
            return 0.0
        next_at = self._start + (self._issued + 1) / self.rate
        return max(MIN_WAIT, next_at - now)
