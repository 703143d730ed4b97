"""Rate-limited logging: a flood of bad events or of client errors must not flood the logs.

The first `limit` messages per key (e.g. per DLQ reason, or per librdkafka client and facility)
in each `period` are logged; the rest are only counted, and the number suppressed is logged when
the next period opens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class _Windows:
    """Per-key fixed windows: how many messages a key sent in its current window."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        if limit < 1 or period <= 0:
            raise ValueError(f"limit must be >= 1 and period > 0, got {limit=} {period=}")
        self.limit = limit
        self.period = period
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, count)

    def admit(self, key: str) -> tuple[bool, int, float]:
        """(log this one?, messages suppressed in the window that just closed, its length)."""
        now = self.clock()
        start, count = self._windows.get(key, (now, 0))
        suppressed, length = 0, 0.0
        if now - start >= self.period:
            suppressed, length = max(0, count - self.limit), now - start
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        return count <= self.limit, suppressed, length


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        limit: int = 10,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self._windows = _Windows(limit, period, clock)

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Log unless `key` already logged `limit` times this period; True when logged."""
        admitted, suppressed, length = self._windows.admit(key)
        if suppressed:
            self.logger.log(
                level, "%d more %r messages suppressed in the last %.0f s", suppressed, key, length
            )
        if admitted:
            self.logger.log(level, msg, *args)
        return admitted


class RateLimitFilter(logging.Filter):
    """The same limit as a logging filter, for records we do not emit ourselves: librdkafka logs
    each failed reconnect of each client (`"%s [%s] %s" % (facility, client, text)`), about one
    per backoff while a broker is away. Keyed by facility and client; the first record of a new
    window says how many were dropped."""

    def __init__(
        self, *, limit: int = 10, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._windows = _Windows(limit, period, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        key = f"{record.name}:{record.levelno}:" + (
            ":".join(str(a) for a in args[:2]) if len(args) == 3 else str(record.msg))
        admitted, suppressed, length = self._windows.admit(key)
        if admitted and suppressed:
            record.msg = f"{record.getMessage()} ({suppressed} similar messages suppressed in " \
                         f"the last {length:.0f} s)"
            record.args = ()
        return admitted
