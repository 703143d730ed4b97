"""The two delivery guarantees behind one interface: `write_batch(outputs, dlq_records, offsets)`.

Invariant of both: no committed offset ever passes an event whose prediction or dead-letter
record was not durably written (acks=all). `write_batch` either returns with the outputs written
or raises `DeliveryError` (nothing committed: the caller rewinds to the committed offsets and
re-reads the batch) or `FatalKafkaError` (exit). It is `send` (queue the records: Python-bound,
run by the loop's thread) then `complete` (wait for the broker, then commit: the writer thread
runs it while the loop prepares the next batch, consumer.loop.overlap); the same errors, from
either half.

* `ExactlyOnceSink`: one transaction per batch holds the outputs *and* the input offsets
  (`send_offsets_to_transaction`), so both become visible to read_committed readers together
  or not at all. An abortable error aborts the transaction; a fenced producer is fatal. Each
  transactional call runs under a watchdog: librdkafka can ignore its own timeout and block for
  good after a coordinator restart (issues #5456, #5511); a call that has not returned
  `HANG_GRACE` s after its timeout is fatal, so the process exits (code 1) and a restart recovers
  (its open transaction is aborted by the broker: nothing is lost or duplicated).
* `AtLeastOnceSink`: idempotent producer; produce, `flush()`, check that every delivery report
  succeeded, then an *asynchronous* commit of the explicit next offsets: requested only once the
  outputs are acknowledged, so it can never pass an event without output, and the loop goes on
  without waiting a coordinator round trip per batch (~7 ms at 5,000 events/s, spikes of
  100 ms). librdkafka sends the commits of one group in order, so the last one requested wins;
  one that fails (`ClientErrors.on_commit` logs it) is covered by the next. `settle_commits`
  commits the last requested offsets synchronously: before a revoke (the next owner starts
  from them) and on the way out. A crash between the flush and the commit re-delivers the
  batch: duplicates are possible, loss is not.

No record can stop a partition: a record the producer or the broker refuses on its own
(`PER_RECORD_ERRORS`: too large, invalid) fails its batch with `OutputRejectedError`, which
names the event behind it (`source_of` reads it back from the record); the loop retries the
batch and the pipeline dead-letters that event as ``output_rejected`` instead of producing the
refused record again (a refused dead letter: its minimal form). Each batch gets its own delivery
callback (`BatchReports`), so a late report of an earlier batch never fails a later one, and the
producer's ``message.timeout.ms`` (`MESSAGE_TIMEOUT_MS`) is shorter than the flush wait
(`TXN_TIMEOUT`): when `write_batch` returns or raises, nothing of its batch is left queued.

Both sinks call their `fault` hook (`consumer.testing.faults`) at named points of a batch: None
unless CONSUMER_FAULT (`ConsumerSettings.fault`) is set, for fault-injection tests only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any, Protocol, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from common.kafka.exceptions import QueueFullError
from common.kafka.producing import produce_all
from consumer.exceptions import DeliveryError, FatalKafkaError
from consumer.ops.metrics import ConsumerMetrics
from consumer.pipeline.records import OutRecord, Source, source_of

log = logging.getLogger(__name__)

T = TypeVar("T")
# The arguments of `Sink.write_batch`, named once for the sinks and the tests' fakes.
Records = Sequence[OutRecord]
Offsets = Sequence[TopicPartition]
TXN_TIMEOUT = 30.0
RETRIABLE_ATTEMPTS = 3
HANG_GRACE = 15.0  # seconds past a transactional call's own timeout before it counts as hung
# The producer's message.timeout.ms: shorter than the flush wait, so a flush that returns has a
# final report for every record (no copy of a failed batch left queued to be sent later).
MESSAGE_TIMEOUT_MS = int(TXN_TIMEOUT * 1000) - 5_000
# Errors that concern one record, not the broker: retrying the batch would fail the same way.
PER_RECORD_ERRORS = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE,  # produce() locally, or the broker's RECORD_TOO_LARGE
    KafkaError.INVALID_RECORD,
    KafkaError.INVALID_MSG_SIZE,
    KafkaError.INVALID_MSG,  # CORRUPT_MESSAGE
})


class OutputRejectedError(DeliveryError):
    """The batch failed because a record was refused on its own; `sources` maps the event
    behind each such record, (topic or None for the input topic, partition, offset), to the
    error. Nothing of the batch is committed; its retry dead-letters those events."""

    def __init__(self, message: str, sources: dict[Source, str]) -> None:
        super().__init__(message)
        self.sources = sources


class BatchReports:
    """The delivery callback of one batch: its failures, and the events whose records were
    refused on their own (`PER_RECORD_ERRORS`). Reports of another batch never reach it."""

    def __init__(self, metrics: ConsumerMetrics) -> None:
        self.metrics = metrics
        self.failures = 0
        self.first: KafkaError | None = None
        self.refused: dict[Source, str] = {}

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            return
        self.failures += 1
        self.metrics.delivery_failures.inc()
        if self.first is None:
            self.first = err
            log.error("delivery to %s failed: %s", msg.topic(), err)
        if err.code() in PER_RECORD_ERRORS:
            self.refuse(source_of(msg.value(), msg.headers()), err)

    def refuse(self, source: Source | None, err: KafkaError) -> None:
        if source is None:
            log.error("a record was refused (%s) but names no source event", err)
            return
        self.refused[source] = f"{err.name()}: {err.str()}"


class FaultHook(Protocol):
    """Called at named points of a batch (`consumer.testing.faults`; fault-injection tests only)."""

    def at(self, point: str, records: int) -> None: ...


class Sink(Protocol):
    def start(self) -> None: ...

    def write_batch(self, outputs: Records, dlq_records: Records, offsets: Offsets) -> bool:
        """Write durably, then commit `offsets`; True when the offsets are committed (in
        at-least-once: when the commit is requested, see the module doc)."""
        ...

    def send(self, outputs: Records, dlq_records: Records) -> None:
        """The first half of `write_batch`: queue the records (the exactly-once transaction
        begins). Python-bound: the loop's thread runs it."""
        ...

    def complete(self, offsets: Offsets) -> bool:
        """The second half: wait until the records sent are durable, then commit `offsets`.
        Mostly waits for the broker with the GIL released: the writer thread runs it
        (consumer.loop.overlap) while the loop prepares the next batch."""
        ...

    def settle_commits(self) -> None:
        """Every offset commit requested so far is done when this returns (at-least-once
        commits asynchronously; exactly-once commits within each transaction)."""
        ...

    def close(self) -> None: ...


class _ProducingSink:
    def __init__(
        self, producer: Producer, consumer: Consumer, metrics: ConsumerMetrics,
        *, fault: FaultHook | None = None,
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.metrics = metrics
        self.reports = BatchReports(metrics)
        self._sent = 0  # records of the batch sent and not completed yet
        self.fault = fault  # None unless a chaos run sets CONSUMER_FAULT (settings.fault)

    def start(self) -> None:
        pass

    def write_batch(self, outputs: Records, dlq_records: Records, offsets: Offsets) -> bool:
        self.send(outputs, dlq_records)
        return self.complete(offsets)

    def send(self, outputs: Records, dlq_records: Records) -> None:
        raise NotImplementedError

    def complete(self, offsets: Offsets) -> bool:
        raise NotImplementedError

    def settle_commits(self) -> None:
        pass  # the transaction holds the offsets: committed with it

    def _produce_all(self, *groups: Sequence[OutRecord]) -> None:
        """Queue the batch's records with a fresh `BatchReports`; a record that produce()
        refuses on its own is noted there before the KafkaException propagates."""
        reports = self.reports = BatchReports(self.metrics)
        records = list(chain(*groups))
        at = -1

        def tracked() -> Iterator[OutRecord]:
            nonlocal at
            for at, record in enumerate(records):  # noqa: B007 - `at` is read on a failure
                yield record

        try:
            produce_all(self.producer, tracked(), timeout=TXN_TIMEOUT, on_delivery=reports,
                        poll_every=0)
        except QueueFullError as exc:
            # as if produce() refused the record: the caller's KafkaException path fails the
            # batch (aborts its transaction), so nothing is committed
            raise KafkaException(KafkaError(KafkaError._QUEUE_FULL, str(exc))) from exc
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() in PER_RECORD_ERRORS and 0 <= at < len(records):
                reports.failures += 1
                self.metrics.delivery_failures.inc()
                reports.refuse(source_of(records[at].value, records[at].headers), err)
            raise
        self.producer.poll(0)

    def _failed(self, summary: str) -> DeliveryError:
        """The error of a failed batch: OutputRejectedError when records were refused."""
        refused = self.reports.refused
        if refused:
            source, error = next(iter(refused.items()))
            return OutputRejectedError(
                f"{summary}: {len(refused)} record(s) refused on their own (first: the event "
                f"{_fmt_source(source)}: {error}); the retry dead-letters them", refused)
        return DeliveryError(summary)

    def close(self) -> None:
        remaining = self.producer.flush(TXN_TIMEOUT)
        if remaining:
            log.error("%d output records still unacknowledged at close", remaining)


class AtLeastOnceSink(_ProducingSink):
    def __init__(
        self, producer: Producer, consumer: Consumer, metrics: ConsumerMetrics,
        *, fault: FaultHook | None = None,
    ) -> None:
        super().__init__(producer, consumer, metrics, fault=fault)
        self._requested: dict[tuple[str, int], int] = {}  # commits not yet known to be done

    def send(self, outputs: Records, dlq_records: Records) -> None:
        fault = self.fault
        self._sent = n = len(outputs) + len(dlq_records)
        if fault is not None:
            fault.at("before_produce", n)
        try:
            self._produce_all(outputs, dlq_records)
        except KafkaException as exc:  # produce() itself refused (e.g. topic not authorised)
            err = exc.args[0]
            if err.code() not in PER_RECORD_ERRORS:  # (those are counted where noted)
                self.metrics.delivery_failures.inc()
            if err.fatal():
                raise FatalKafkaError(f"fatal producer error: {err}") from exc
            # what was queued before the refusal is sent now, not alongside the retry
            self.producer.flush(TXN_TIMEOUT)
            raise self._failed(f"producing the batch failed ({err}): it is not committed") from exc
        if fault is not None:
            fault.at("in_transaction", n)

    def complete(self, offsets: Offsets) -> bool:
        fault, n = self.fault, self._sent
        remaining = self.producer.flush(TXN_TIMEOUT)
        reports = self.reports
        if remaining or reports.failures:
            raise self._failed(
                f"{reports.failures} of {n} output records failed and {remaining} were still "
                f"unacknowledged (flush waits up to {TXN_TIMEOUT:.0f} s; first error: "
                f"{reports.first}): the batch is not committed")
        if fault is not None:
            fault.at("before_commit", n)
        if not offsets:
            return True
        try:
            self.consumer.commit(offsets=list(offsets), asynchronous=True)
        except KafkaException as exc:
            # The outputs are durable; the next commit covers these offsets, and a re-read
            # after a rebalance only duplicates (allowed by at-least-once).
            log.warning("offset commit failed (outputs are written): %s", exc)
            return False
        self._requested.update({(tp.topic, tp.partition): tp.offset for tp in offsets})
        if fault is not None:
            fault.at("after_commit", n)
        return True

    def settle_commits(self) -> None:
        """Commit the last requested offsets synchronously (they may be in flight or have
        failed): a failure is logged, the outputs are durable and a re-read only duplicates.
        Called with no write in flight (`ConsumeLoop.before_revoke` waits for it first), so
        `complete` never touches `_requested` at the same time."""
        if not self._requested:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._requested.items()]
        self._requested.clear()
        try:
            result = self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("offset commit failed (outputs are written): %s", exc)
            return
        failed = [tp for tp in result or [] if tp.error is not None]
        if failed:
            log.warning("offset commit failed for %s", ", ".join(map(_fmt, failed)))


class ExactlyOnceSink(_ProducingSink):
    def start(self) -> None:
        try:
            _watched(self.producer.init_transactions)(TXN_TIMEOUT)
        except KafkaException as exc:
            raise FatalKafkaError(f"init_transactions failed: {exc.args[0]}") from exc

    def write_batch(self, outputs: Records, dlq_records: Records, offsets: Offsets) -> bool:
        if not (outputs or dlq_records or offsets):
            return True  # no empty transaction
        return super().write_batch(outputs, dlq_records, offsets)

    def send(self, outputs: Records, dlq_records: Records) -> None:
        """Begin the batch's transaction and produce its records into it."""
        p, fault = self.producer, self.fault
        self._sent = n = len(outputs) + len(dlq_records)
        if fault is not None:
            fault.at("before_produce", n)
        try:
            p.begin_transaction()
            self._produce_all(outputs, dlq_records)
            if fault is not None:
                fault.at("in_transaction", n)
        except KafkaException as exc:
            raise self._aborted(exc) from exc

    def complete(self, offsets: Offsets) -> bool:
        """Add the offsets to the transaction and commit it (abort on an abortable error)."""
        p, fault, n = self.producer, self.fault, self._sent
        try:
            if offsets:
                group = self.consumer.consumer_group_metadata()
                _retrying(_watched(p.send_offsets_to_transaction), list(offsets), group,
                          TXN_TIMEOUT)
            if fault is not None:
                fault.at("before_commit", n)
            _retrying(_watched(p.commit_transaction), TXN_TIMEOUT)
        except KafkaException as exc:
            raise self._aborted(exc) from exc
        if fault is not None:
            fault.at("after_commit", n)
        return True

    def _aborted(self, exc: KafkaException) -> Exception:
        """The error to raise for a failed transaction, once it is aborted."""
        err = exc.args[0]
        if err.fatal():
            return FatalKafkaError(f"fatal transactional error: {err}")
        self._abort(err)
        # the reports of the aborted records (the broker's refusals among them) are queued:
        # serve them now, to this batch's BatchReports, not during the retry
        self.producer.poll(0)
        return self._failed(f"transaction aborted ({err}): the batch is not committed")

    def _abort(self, cause: KafkaError) -> None:
        log.error("aborting the transaction after: %s", cause)
        try:
            # a timed-out abort is retriable ("retry call to resume"): it is still running
            _retrying(_watched(self.producer.abort_transaction), TXN_TIMEOUT)
        except KafkaException as exc:
            raise FatalKafkaError(f"abort_transaction failed after {cause}: {exc}") from exc
        self.metrics.transactions_aborted.inc()


def _watched(call: Callable[..., T]) -> Callable[..., T]:
    """`call` (a blocking librdkafka call whose last argument is its timeout) in a daemon
    thread: FatalKafkaError if it has not returned HANG_GRACE s after that timeout."""
    name = getattr(call, "__name__", "transactional call")

    def run(*args: Any) -> T:
        limit = float(args[-1]) + HANG_GRACE
        outcome: list[Any] = []

        def target() -> None:
            try:
                outcome.append((True, call(*args)))
            except BaseException as exc:  # re-raised in the calling thread
                outcome.append((False, exc))

        thread = threading.Thread(target=target, name=f"txn-{name}", daemon=True)
        thread.start()
        thread.join(limit)
        if not outcome:
            raise FatalKafkaError(
                f"{name} has not returned after {limit:.0f} s although its timeout is "
                f"{args[-1]:.0f} s: librdkafka is stuck (known after a coordinator restart, "
                "librdkafka issues #5456/#5511); exiting so that a restart recovers"
            )
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    run.__name__ = name
    return run


def _retrying(call: Callable[..., T], *args: Any) -> T:
    """Repeat a transactional call on a retriable (not abortable, not fatal) error."""
    for attempt in range(1, RETRIABLE_ATTEMPTS + 1):
        try:
            return call(*args)
        except KafkaException as exc:
            err = exc.args[0]
            if (attempt == RETRIABLE_ATTEMPTS or not err.retriable() or err.txn_requires_abort()
                    or err.fatal()):
                raise
            log.warning("%s: retriable error (attempt %d): %s", call.__name__, attempt, err)
    raise AssertionError("unreachable")


def _fmt_source(source: Source) -> str:
    topic, partition, offset = source
    return f"{topic or 'input'}[{partition}]@{offset}"


def _fmt(tp: TopicPartition) -> str:
    return f"{tp.topic}[{tp.partition}]@{tp.offset}: {tp.error}"
