"""The consume loop (`ConsumeLoop`) with fakes at the boundary: retry after a failed batch
(rewind + backoff), error events, max_events, stop, fatal errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from confluent_kafka import KafkaError, TopicPartition
from consumer_fakes import FakeMessage
from prometheus_client import CollectorRegistry

from consumer.edge.errors import ClientErrors
from consumer.exceptions import DeliveryError, FatalKafkaError
from consumer.loop import retry
from consumer.loop.consume import ConsumeLoop
from consumer.loop.processor import BatchResult, Written
from consumer.ops.http import HealthState
from consumer.ops.metrics import ConsumerMetrics
from consumer.settings import ConsumerSettings


@dataclass
class ErrorEvent:
    err: KafkaError

    def error(self) -> KafkaError:
        return self.err

    def topic(self) -> str:
        return "in"

    def partition(self) -> int:
        return 0


@dataclass
class ScriptedConsumer:
    """Returns the scripted batches, then empty lists; records seeks."""

    script: list[list] = field(default_factory=list)
    seeks: list[tuple[str, int, int]] = field(default_factory=list)
    requested: list[int] = field(default_factory=list)
    on_empty: threading.Event | None = None

    def consume(self, num_messages: int, timeout: float) -> list:
        self.requested.append(num_messages)
        if self.script:
            return self.script.pop(0)
        if self.on_empty is not None:
            self.on_empty.set()
        return []

    def committed(self, tps, timeout=None):
        return [TopicPartition(tp.topic, tp.partition, -1001) for tp in tps]

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    def position(self, tps):
        return list(tps)


@dataclass
class FakeBatch:
    messages: list
    started: float = field(default_factory=time.perf_counter)
    labels: list = field(default_factory=list)

    @property
    def inputs(self) -> list:
        return self.messages


class FlakyProcessor:
    """Fails the first `failures` writes with DeliveryError, then succeeds; `steps` records
    (step, first offset) in the order the loop and the writer thread ran them."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[list[int]] = []  # offsets of each write
        self.steps: list[tuple[str, int]] = []
        self.swap_waiting = False
        self.gate: Callable[[FakeBatch], None] | None = None  # runs at the start of a write
        self.send_threads: list[threading.Thread] = []

    def prepare(self, messages) -> FakeBatch:
        self.steps.append(("prepare", messages[0].offset()))
        return FakeBatch(list(messages))

    def send(self, batch: FakeBatch) -> None:
        self.steps.append(("send", batch.messages[0].offset()))
        self.send_threads.append(threading.current_thread())

    def complete(self, batch: FakeBatch) -> Written:
        first = batch.messages[0].offset()
        self.steps.append(("write", first))
        if self.gate is not None:
            self.gate(batch)
        self.calls.append([m.offset() for m in batch.messages])
        try:
            if self.failures:
                self.failures -= 1
                raise DeliveryError("injected: broker said no")
            return Written(committed=True, at=time.time(), seconds=time.perf_counter())
        finally:
            self.steps.append(("written", first))

    def finish(self, batch: FakeBatch, written: Written) -> BatchResult:
        self.steps.append(("finish", batch.messages[0].offset()))
        n = len(batch.messages)
        return BatchResult(n, n, 0, written.committed)

    def remember_refused(self, exc: DeliveryError) -> None:
        pass

    def settle_commits(self) -> None:
        self.steps.append(("settle_commits", -1))

    def idle(self) -> None:
        pass


class NoLag:
    def committed(self) -> dict:
        return {}

    def assigned(self) -> set:
        return set()


def batch(first: int, n: int) -> list[FakeMessage]:
    return [FakeMessage(b"{}", _offset=first + i, _partition=0) for i in range(n)]


class CountingFlow:
    def __init__(self) -> None:
        self.paced = 0
        self.incoming: list[int] = []

    def pace(self, incoming: int = 0) -> None:
        self.paced += 1
        self.incoming.append(incoming)


def make_loop(consumer, processor, flow=None, **overrides) -> tuple[ConsumeLoop, CollectorRegistry]:
    registry = CollectorRegistry()
    settings = ConsumerSettings(input_topic="in", **overrides)
    metrics = ConsumerMetrics(registry)
    loop = ConsumeLoop(
        settings, consumer=consumer, processor=processor, lag=NoLag(),  # type: ignore[arg-type]
        metrics=metrics, health=HealthState(settings.liveness_timeout),
        errors=ClientErrors(metrics), stop_event=threading.Event(), flow=flow,
    )
    return loop, registry


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "BACKOFF_INITIAL", 0.001)


def test_failed_batch_is_rewound_and_retried_then_counted_once() -> None:
    consumer = ScriptedConsumer([batch(10, 5), batch(10, 5)])  # the re-read after the rewind
    processor = FlakyProcessor(failures=1)
    loop, registry = make_loop(consumer, processor, max_events=5)
    loop.run()
    assert processor.calls == [[10, 11, 12, 13, 14]] * 2
    assert consumer.seeks == [("in", 0, 10)]  # no committed offset: back to the batch start
    assert loop.summary.consumed == 5 and loop.summary.retries == 1
    assert registry.get_sample_value("diamond_batch_retries_total") == 1


def test_gives_up_after_too_many_consecutive_failures() -> None:
    consumer = ScriptedConsumer([batch(0, 2) for _ in range(20)])
    loop, _ = make_loop(consumer, FlakyProcessor(failures=100))
    with pytest.raises(DeliveryError, match="gave up after 8 consecutive failed batches"):
        loop.run()


def test_max_events_limits_the_last_batch_exactly() -> None:
    consumer = ScriptedConsumer([batch(0, 5), batch(5, 2)])
    loop, _ = make_loop(consumer, FlakyProcessor(0), max_events=7, batch_size=5)
    loop.run()
    assert consumer.requested == [5, 2]
    assert loop.summary.consumed == 7


def test_partition_eof_is_ignored_other_errors_counted_fatal_raises() -> None:
    eof = ErrorEvent(KafkaError(KafkaError._PARTITION_EOF))
    transient = ErrorEvent(KafkaError(KafkaError._TRANSPORT))
    fatal = ErrorEvent(KafkaError(KafkaError._FENCED, fatal=True))
    consumer = ScriptedConsumer([[eof, *batch(0, 2), transient], [fatal]])
    processor = FlakyProcessor(0)
    loop, registry = make_loop(consumer, processor)
    with pytest.raises(FatalKafkaError, match="fatal consumer error"):
        loop.run()
    assert processor.calls == [[0, 1]]
    assert registry.get_sample_value("diamond_kafka_errors_total") == 1


def test_fatal_client_error_from_the_callback_stops_the_loop() -> None:
    loop, _ = make_loop(ScriptedConsumer(), FlakyProcessor(0))
    loop.errors(KafkaError(KafkaError._FENCED, "fenced", fatal=True))  # the clients' error_cb
    with pytest.raises(FatalKafkaError, match="fenced"):
        loop.run()


def test_stop_event_ends_the_loop_and_readiness_follows_the_first_poll() -> None:
    idle = threading.Event()
    consumer = ScriptedConsumer([batch(0, 3)], on_empty=idle)
    loop, registry = make_loop(consumer, FlakyProcessor(0))
    thread = threading.Thread(target=loop.run)
    thread.start()
    assert idle.wait(5)
    assert loop.health.first_poll_done
    assert registry.get_sample_value("diamond_consumer_ready") == 1
    loop.stop_event.set()
    thread.join(5)
    assert not thread.is_alive() and loop.summary.consumed == 3


def test_the_labels_flow_is_paced_after_every_batch_and_every_idle_poll() -> None:
    # an empty consume() is asked again with the batch timeout: two empty answers = one idle poll
    consumer = ScriptedConsumer([batch(0, 3), [], [], batch(3, 2)])
    flow = CountingFlow()
    loop, _ = make_loop(consumer, FlakyProcessor(0), flow=flow, max_events=5)
    loop.run()
    assert loop.summary.consumed == 5 and loop.summary.batches == 2
    assert flow.paced == 3


# --- overlap (consumer.loop.overlap): the invariants, one test each -------------------------


def test_the_next_batch_is_prepared_while_the_previous_write_is_in_flight() -> None:
    consumer = ScriptedConsumer([batch(0, 3), batch(3, 3)])
    processor = FlakyProcessor(0)
    prepared_next = threading.Event()
    seen: list[bool] = []

    def gate(b: FakeBatch) -> None:  # the first write waits until the loop prepares the next
        if b.messages[0].offset() == 0:
            seen.append(prepared_next.wait(5))

    processor.gate = gate
    real_prepare = processor.prepare

    def prepare(messages):
        out = real_prepare(messages)
        if messages[0].offset() == 3:
            prepared_next.set()
        return out

    processor.prepare = prepare  # type: ignore[method-assign]
    loop, _ = make_loop(consumer, processor, max_events=6, batch_size=3)  # full: behind
    loop.run()
    assert seen == [True]
    # one write at a time, in order; a batch is finished only after its write returned
    steps = processor.steps
    assert steps.index(("written", 0)) < steps.index(("send", 3)) < steps.index(("write", 3))
    assert processor.send_threads == [threading.current_thread()] * 2  # send: the loop's thread
    assert steps.index(("written", 0)) < steps.index(("finish", 0)) < steps.index(("finish", 3))
    assert loop.summary.consumed == 6 and loop.summary.batches == 2


@pytest.mark.parametrize(("overlap", "batch_size"), [(False, 3), (True, 4)])
def test_serial_without_overlap_or_when_keeping_up(overlap: bool, batch_size: int) -> None:
    # batches of 3 are full at batch_size 3 (behind) but not at 4 (keeping up): serial then too
    consumer = ScriptedConsumer([batch(0, 3), batch(3, 3)])
    processor = FlakyProcessor(0)
    loop, _ = make_loop(consumer, processor, max_events=6, overlap=overlap,
                        batch_size=batch_size)
    loop.run()
    steps = processor.steps
    assert steps.index(("finish", 0)) < steps.index(("prepare", 3))
    assert consumer.requested[0] == batch_size
    assert loop.summary.consumed == 6


def test_a_failed_write_discards_the_batch_prepared_behind_it_and_rewinds_both() -> None:
    # batch 0-2 fails while 3-5 is prepared; both are re-read from the batch start
    consumer = ScriptedConsumer([batch(0, 3), batch(3, 3), batch(0, 3), batch(3, 3)])
    processor = FlakyProcessor(failures=1)
    loop, registry = make_loop(consumer, processor, max_events=6, batch_size=3)  # behind
    loop.run()
    assert processor.calls == [[0, 1, 2], [0, 1, 2], [3, 4, 5]]  # 3-5 written once, after 0-2
    assert consumer.seeks == [("in", 0, 0)]
    assert loop.summary.consumed == 6 and loop.summary.retries == 1
    assert registry.get_sample_value("diamond_batch_retries_total") == 1


def test_a_model_swap_waits_for_the_write_in_flight_and_finishes_its_batch_first() -> None:
    consumer = ScriptedConsumer([batch(0, 3), batch(3, 3)])
    processor = FlakyProcessor(0)
    real_prepare = processor.prepare

    def prepare(messages):
        processor.swap_waiting = True  # a model is offered while batch 0-2 is in flight
        return real_prepare(messages)

    processor.prepare = prepare  # type: ignore[method-assign]
    loop, _ = make_loop(consumer, processor, max_events=6, batch_size=3)  # behind: overlap
    loop.run()
    steps = processor.steps
    assert steps.index(("finish", 0)) < steps.index(("prepare", 3))


def test_before_revoke_waits_for_the_write_in_flight_and_leaves_it_to_the_loop() -> None:
    release = threading.Event()
    consumer = ScriptedConsumer([batch(0, 3)])
    processor = FlakyProcessor(0)
    processor.gate = lambda b: release.wait(5)  # type: ignore[assignment]
    loop, _ = make_loop(consumer, processor, max_events=3)
    loop.writer.submit(processor.prepare(batch(0, 3)))  # type: ignore[arg-type]
    revoked = threading.Event()

    def on_revoke() -> None:  # as the rebalance callback would, inside consume()
        loop.before_revoke()
        revoked.set()

    thread = threading.Thread(target=on_revoke)
    thread.start()
    assert not revoked.wait(0.2)  # still writing: the callback waits
    release.set()
    assert revoked.wait(5)
    thread.join(5)
    assert loop.writer.pending is not None  # returned, not settled: the loop finishes it
    # then the offset commits requested so far are done: the next owner starts from them
    assert processor.steps[-2:] == [("written", 0), ("settle_commits", -1)]
    loop.writer.close()


def test_the_requested_offset_commits_are_settled_on_the_way_out() -> None:
    consumer = ScriptedConsumer([batch(0, 3), batch(3, 3)])
    processor = FlakyProcessor(0)
    loop, _ = make_loop(consumer, processor, max_events=6)
    loop.run()
    steps = processor.steps
    assert steps[-1] == ("settle_commits", -1)
    assert steps.index(("finish", 3)) < len(steps) - 1  # after the last batch is finished


def test_the_labels_of_the_batch_prepared_behind_count_when_pacing_the_labels_topic() -> None:
    consumer = ScriptedConsumer([batch(0, 3), batch(3, 3)])
    processor = FlakyProcessor(0)
    real_prepare = processor.prepare

    def prepare(messages):  # every message a label, for the count
        prepared = real_prepare(messages)
        prepared.labels = list(messages)
        return prepared

    processor.prepare = prepare  # type: ignore[method-assign]
    flow = CountingFlow()
    loop, _ = make_loop(consumer, processor, flow=flow, max_events=6, batch_size=3)  # behind
    loop.run()
    # batch 0-2 finished while 3-5 was in flight (its 3 labels already read), then 3-5 alone
    assert flow.incoming[:2] == [3, 0]
