"""`BatchWriter`: one write in flight, settled in order, errors handed over, inline mode."""

from __future__ import annotations

import threading

import pytest

from consumer.exceptions import DeliveryError
from consumer.loop.overlap import BatchWriter
from consumer.loop.processor import Written


class Batch:
    def __init__(self, name: str) -> None:
        self.name = name
        self.inputs = [name] * 3


def written() -> Written:
    return Written(committed=True, at=0.0, seconds=0.0)


def test_the_write_runs_in_another_thread_and_settle_waits_for_it() -> None:
    release = threading.Event()
    threads: list[str] = []

    def write(batch: Batch) -> Written:
        threads.append(threading.current_thread().name)
        release.wait(5)
        return written()

    sent: list[str] = []
    writer = BatchWriter(lambda b: sent.append(threading.current_thread().name),  # type: ignore
                         write)  # type: ignore[arg-type]
    writer.submit(Batch("a"))  # type: ignore[arg-type]
    assert sent == [threading.current_thread().name]  # send: in the caller's thread
    assert writer.pending is not None and writer.pending_events == 3
    release.set()
    settled = writer.settle()
    assert settled is not None and settled.error is None and settled.written is not None
    assert threads and threads[0].startswith("batch-writer")
    assert writer.pending is None and writer.settle() is None
    writer.close()


def test_a_second_submit_before_settling_is_refused() -> None:
    writer = BatchWriter(lambda batch: None, lambda batch: written())
    writer.submit(Batch("a"))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="still in flight"):
        writer.submit(Batch("b"))  # type: ignore[arg-type]
    writer.close()


def test_the_writes_error_is_handed_to_settle_not_raised_by_wait() -> None:
    def write(batch: Batch) -> Written:
        raise DeliveryError(f"{batch.name}: broker said no")

    def ok(batch: Batch) -> None:
        pass

    # the error of complete() in either mode, and of send() (raised in the caller's thread)
    for send, complete, threaded in ((ok, write, True), (ok, write, False), (write, None, True)):
        writer = BatchWriter(send, complete, threaded=threaded)  # type: ignore[arg-type]
        writer.submit(Batch("a"))  # type: ignore[arg-type]
        writer.wait()  # returns; the error stays with the pending batch
        settled = writer.settle()
        assert settled is not None and settled.written is None
        assert isinstance(settled.error, DeliveryError) and "a: broker" in str(settled.error)
        writer.close()


def test_inline_mode_writes_in_submit_in_the_callers_thread() -> None:
    threads: list[threading.Thread] = []
    writer = BatchWriter(lambda b: None,
                         lambda b: threads.append(threading.current_thread()) or written(),
                         threaded=False)
    writer.submit(Batch("a"))  # type: ignore[arg-type]
    assert threads == [threading.current_thread()]
    settled = writer.settle()
    assert settled is not None and settled.error is None
    writer.close()
    writer.close()  # idempotent
