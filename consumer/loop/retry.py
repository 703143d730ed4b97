"""The retry policy of a failed batch (`DeliveryError`: nothing committed).

The loop rewinds to the committed offsets and waits before re-reading the batch: an exponential
backoff from `BACKOFF_INITIAL` s, at most `BACKOFF_MAX` s and never longer than a batch may take
(the wait does not poll either); after `MAX_CONSECUTIVE_FAILURES` in a row it gives up
(`DeliveryError`, exit 1) so that a restart, or an operator, takes over.
"""

from __future__ import annotations

from consumer.exceptions import DeliveryError

MAX_CONSECUTIVE_FAILURES = 8
BACKOFF_INITIAL, BACKOFF_MAX = 0.5, 10.0


class RetryPolicy:
    def __init__(self, *, max_failures: int = MAX_CONSECUTIVE_FAILURES) -> None:
        self.max_failures = max_failures
        self.failures = 0  # consecutive

    def failed(self, exc: DeliveryError, *, cap: float) -> float:
        """Count a failed batch: the seconds to wait before retrying it (at most `cap`), or
        DeliveryError when this was one failure too many."""
        self.failures += 1
        if self.failures >= self.max_failures:
            raise DeliveryError(
                f"gave up after {self.failures} consecutive failed batches: {exc}"
            ) from exc
        # read at call time (not bound as a default) so tests can shorten the backoff
        return min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** (self.failures - 1), cap)

    def succeeded(self) -> None:
        self.failures = 0
