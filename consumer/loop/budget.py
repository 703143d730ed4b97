"""Batch sizes that keep every batch well inside `max.poll.interval.ms`.

librdkafka drops a consumer from its group when two `consume()` calls are more than
`max.poll.interval.ms` apart, and a whole batch (decode, score, write, commit) runs between two
calls: with a slow model, a full batch can outlast the interval, the transaction or commit then
fails (the member is gone), the batch is re-read, and so on forever. `BatchBudget` caps the next
batch at what the measured time per event fits into `fraction` of that interval. It starts small
and at most doubles per batch (a slow start), so the first batch of a slow model is already safe
and a model that turns slow shrinks the batches before the group notices.

    budget = BatchBudget(max_size=1000, poll_interval=300.0)
    n = budget.size                 # events to ask consume() for
    budget.record(n_read, seconds)  # after the batch, how long it took
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

START_SIZE = 100


class BatchBudget:
    def __init__(self, max_size: int, poll_interval: float, *, fraction: float = 0.25,
                 start: int = START_SIZE) -> None:
        if max_size < 1 or poll_interval <= 0 or not 0 < fraction < 1 or start < 1:
            raise ValueError(
                f"need max_size >= 1, poll_interval > 0, 0 < fraction < 1 and start >= 1, got "
                f"{max_size=} {poll_interval=} {fraction=} {start=}"
            )
        self.max_size = max_size
        self.seconds = fraction * poll_interval  # the time one batch may take
        self.size = min(max_size, start)
        self._warned = False

    def record(self, events: int, seconds: float) -> None:
        """A batch of `events` took `seconds` from the end of consume() to the next call."""
        if events <= 0:
            return
        per_event = max(seconds, 1e-9) / events
        fits = int(self.seconds / per_event)
        self.size = max(1, min(self.max_size, fits, 2 * self.size))
        if fits < 1 and not self._warned:
            self._warned = True
            log.warning(
                "one event takes %.1f s, more than the %.1f s a batch may take "
                "(a quarter of max.poll.interval.ms): raise max.poll.interval.ms",
                per_event, self.seconds,
            )
