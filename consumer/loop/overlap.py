"""At most one batch's write in flight, in a writer thread, while the loop prepares the next one.

A batch's write (`BatchProcessor.write`: the exactly-once transaction, or the at-least-once flush
and offset commit) mostly waits for the broker, with the GIL released; the loop meanwhile
consumes, decodes, validates and scores the next batch (`BatchProcessor.prepare`). Only that
wait (`complete`) runs in the writer thread: queueing the records (`send`) is Python work and
stays in the loop's thread, since two threads running Python only take turns on the GIL (and a
waiting thread gets it back only after the 5 ms switch interval). The loop
keeps these invariants (consumer.loop.consume; tested in tests/unit/consumer/loop):

1. **One write at a time, in order.** Batch N+1 is submitted only after batch N's write has
   returned and succeeded: each batch keeps its own transaction (or flush + commit), and offsets
   are committed in consumption order.
2. **Nothing is committed before its outputs.** A batch's records and its offsets go through the
   same `write` (the sink's own invariant), and no batch is written before the one ahead of it.
3. **Rebalances see nothing pending.** consume() is only called with no prepared batch waiting
   to be submitted, and the rebalance callbacks `wait()` for the write in flight: on_revoke never
   sees an open transaction nor unacknowledged outputs, as without overlap.
4. **A failed write discards the batch behind it.** The loop rewinds both batches' partitions to
   the committed offsets and re-reads them after its backoff; the batch prepared behind the
   failed one was never written.
5. **A model swap is a barrier.** The write in flight is settled and its batch finished (its
   observers see the model that scored it) before the next `prepare` swaps the model.

`threaded=False` runs each write inline in `submit` (`--no-overlap`): the same loop, no overlap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from consumer.loop.processor import PreparedBatch, Written

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """A write that has returned: `written`, or the `error` it raised."""

    batch: PreparedBatch
    written: Written | None
    error: BaseException | None


class BatchWriter:
    """`submit` sends a batch's records in the caller's thread (`send`: Python work, which would
    only contend for the GIL in another thread) and runs `complete` (the broker round trips, GIL
    released) in the writer thread; `settle` hands the outcome over."""

    def __init__(
        self, send: Callable[[PreparedBatch], None], complete: Callable[[PreparedBatch], Written],
        *, threaded: bool = True,
    ) -> None:
        self._send = send
        self._complete = complete
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer")
            if threaded else None
        )
        self._pending: tuple[PreparedBatch, Future[Written]] | None = None

    @property
    def pending(self) -> PreparedBatch | None:
        """The batch submitted and not settled yet (its write may have returned)."""
        return self._pending[0] if self._pending is not None else None

    @property
    def pending_events(self) -> int:
        """Input events of the pending batch (label messages apart)."""
        return len(self._pending[0].inputs) if self._pending is not None else 0

    def submit(self, batch: PreparedBatch) -> None:
        """Start writing `batch`; the previous one must be settled (invariant 1)."""
        if self._pending is not None:
            raise RuntimeError("a batch is still in flight: settle it before submitting another")
        future: Future[Written]
        try:
            self._send(batch)
        except Exception as exc:  # handed to settle(), as a failed complete() is
            future = Future()
            future.set_exception(exc)
        else:
            if self._executor is None:
                future = Future()
                try:
                    future.set_result(self._complete(batch))
                except Exception as exc:
                    future.set_exception(exc)
            else:
                future = self._executor.submit(self._complete, batch)
        self._pending = (batch, future)

    def wait(self) -> None:
        """Block until the write in flight (if any) has returned; it stays pending (for the
        rebalance callbacks, invariant 3: they must not raise, the loop settles it after)."""
        if self._pending is not None:
            self._pending[1].exception()  # waits; never raises the write's error

    def settle(self) -> Settled | None:
        """Wait for the pending write and hand it over (None when nothing is pending)."""
        if self._pending is None:
            return None
        batch, future = self._pending
        self._pending = None
        error = future.exception()
        return Settled(batch, None if error is not None else future.result(), error)

    def close(self) -> None:
        """Wait for a write in flight, then stop the thread. Idempotent."""
        self.wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
