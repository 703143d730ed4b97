"""Rate-limited logging for per-message failures: a flood of bad events must not flood the logs.

The first `limit` messages per key (e.g. per DLQ reason) in each `period` are logged; the rest
are only counted, and the number suppressed is logged when the next period opens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        limit: int = 10,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError(f"limit must be >= 1 and period > 0, got {limit=} {period=}")
        self.logger = logger
        self.limit = limit
        self.period = period
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, count)

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Log unless `key` already logged `limit` times this period; True when logged."""
        now = self.clock()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.period:
            suppressed = count - self.limit
            if suppressed > 0:
                self.logger.log(
                    level, "%d more %r messages suppressed in the last %.0f s",
                    suppressed, key, now - start,
                )
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if count <= self.limit:
            self.logger.log(level, msg, *args)
            return True
        return False
