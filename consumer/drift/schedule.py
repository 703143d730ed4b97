"""`EvaluationSchedule`: when the drift observer evaluates (never per batch).

Due when something new arrived since the last evaluation and either `eval_interval` seconds
passed or `eval_every` events were scored. The count trigger is held back while the last
evaluation took more than `max_share` of the time since it (--drift-eval-max-share, default
1 %): at 20,000 events/s, 5,000 events come every 0.25 s, and evaluating that often would cost
~10 % of the loop; the cap keeps the cost bounded whatever the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class EvaluationSchedule:
    def __init__(
        self,
        *,
        eval_interval: float,
        eval_every: int,
        max_share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not eval_interval > 0 or eval_every < 1 or not 0 < max_share <= 1:
            raise ValueError(
                f"eval_interval must be > 0 s, eval_every >= 1 and max_share in (0, 1], got "
                f"{eval_interval}, {eval_every}, {max_share}"
            )
        self.eval_interval = eval_interval
        self.eval_every = eval_every
        self.max_share = max_share
        self.clock = clock
        self.last_duration = 0.0  # seconds the last evaluation took
        self._events = 0
        self._labels = 0
        self._last = clock()

    def add_events(self, n: int) -> None:
        self._events += n

    def add_labels(self, n: int) -> None:
        self._labels += n

    def due(self) -> bool:
        """Something new since the last evaluation, and the interval or the count reached (the
        count only once the last evaluation's cost is within `max_share`)."""
        if not (self._events or self._labels):
            return False
        since = self.clock() - self._last
        if since >= self.eval_interval:
            return True
        return self._events >= self.eval_every and since * self.max_share >= self.last_duration

    def start(self) -> None:
        """An evaluation starts now: the counts start again."""
        self._last = self.clock()
        self._events = self._labels = 0
