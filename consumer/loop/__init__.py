"""The consume loop: batches in, committed batches out, one policy for every failure.

::

    ConsumeLoop.run()                                    (consume.py)
      BatchBudget.size         how many events to ask for (budget.py)
      consumer.consume()       data messages; error events counted, a fatal one raises
      BatchProcessor.prepare   transform (consumer.pipeline) (processor.py)
      BatchWriter              send, then complete in the writer thread (Sink, consumer.edge);
                               the next batch is prepared meanwhile when behind (overlap.py)
      BatchProcessor.finish    metrics, lag, observers, once the write returned
      RetryPolicy              failed batch: rewind, backoff, give up after 8 (retry.py)
      LabelFlow.pace           pause / resume the labels topic as the handler asks (flow.py)
      idle                     observers' on_idle, commit positions over transaction markers
    -> RunSummary (summary.py)
"""

from consumer.loop.budget import BatchBudget
from consumer.loop.consume import ConsumeLoop
from consumer.loop.flow import LabelFlow
from consumer.loop.overlap import BatchWriter, Settled
from consumer.loop.processor import BatchProcessor, BatchResult, PreparedBatch, Written
from consumer.loop.retry import BACKOFF_INITIAL, BACKOFF_MAX, MAX_CONSECUTIVE_FAILURES, RetryPolicy
from consumer.loop.summary import RunSummary

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "MAX_CONSECUTIVE_FAILURES",
    "BatchBudget",
    "BatchProcessor",
    "BatchResult",
    "BatchWriter",
    "ConsumeLoop",
    "LabelFlow",
    "PreparedBatch",
    "RetryPolicy",
    "RunSummary",
    "Settled",
    "Written",
]
