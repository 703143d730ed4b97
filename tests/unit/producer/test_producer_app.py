"""run_producer against a fake librdkafka producer: counting, pacing, labels, stop, exit codes."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import pytest
from confluent_kafka import KafkaError

from model.schema import validate_event
from producer import EventGenerator, ProducerSettings, StopRequest, handle_signals, run_producer
from producer.__main__ import main


@dataclass
class Sent:
    topic: str
    key: bytes
    value: bytes
    timestamp: int
    at: float  # monotonic time of produce()


class FakeProducer:
    """Records messages; delivers them on poll/flush; can fail or fill its queue on demand."""

    def __init__(self, config: dict[str, Any], *, fail_every: int = 0, full_every: int = 0,
                 on_produce: Any = None) -> None:
        self.config = config
        self.sent: list[Sent] = []
        self.fail_every = fail_every
        self.full_every = full_every
        self.on_produce = on_produce
        self._queue: list[tuple[Any, Sent]] = []
        self._attempts = 0
        self.buffer_errors = 0

    def produce(self, topic: str, *, value: bytes, key: bytes, timestamp: int = 0,
                on_delivery: Any) -> None:
        self._attempts += 1
        if self.full_every and self._attempts % self.full_every == 0:
            self.buffer_errors += 1
            raise BufferError("Local: Queue full")
        message = Sent(topic, key, value, timestamp, time.monotonic())
        self.sent.append(message)
        self._queue.append((on_delivery, message))
        if self.on_produce:
            self.on_produce(len(self.sent))

    def poll(self, timeout: float = 0) -> int:
        served, self._queue = self._queue, []
        for callback, message in served:
            failed = self.fail_every and len(self.sent) and (
                self.sent.index(message) % self.fail_every == 0)
            error = KafkaError(KafkaError._MSG_TIMED_OUT) if failed else None
            callback(error, FakeMessage(message))
        if not served and timeout:
            time.sleep(timeout)
        return len(served)

    def flush(self, timeout: float = 0) -> int:
        self.poll(0)
        return 0

    def __len__(self) -> int:
        return len(self._queue)


def assert_labels_sent_before_due(fake: FakeProducer, delay: float) -> None:
    """Every label went out before its event's delay was over: nobody waited for it."""
    events = {m.key: m.at for m in fake.sent if m.topic == "diamonds.events"}
    labels = [m for m in fake.sent if m.topic != "diamonds.events"]
    assert labels and all(m.at < events[m.key] + delay for m in labels)


@dataclass
class FakeMessage:
    sent: Sent

    def key(self) -> bytes:
        return self.sent.key

    def topic(self) -> str:
        return self.sent.topic


def settings(**kwargs: Any) -> ProducerSettings:
    base: dict[str, Any] = {"create_topics": False, "rate": 0, "run_id": "t", "events": 500}
    return ProducerSettings(**{**base, **kwargs})


def run(test_rows: pd.DataFrame, s: ProducerSettings, stop: StopRequest | None = None,
        **fake: Any) -> tuple[Any, FakeProducer]:
    made: list[FakeProducer] = []

    def factory(config: dict[str, Any]) -> FakeProducer:
        made.append(FakeProducer(config, **fake))
        return made[0]

    generator = EventGenerator.from_settings(s, source=test_rows, run_id=s.run_id)
    summary = run_producer(s, generator=generator, stop=stop, producer_factory=factory)
    return summary, made[0]


def test_every_event_is_sent_once_and_counted(test_rows: pd.DataFrame) -> None:
    summary, fake = run(test_rows, settings(events=2500))
    assert summary.ok and not summary.interrupted
    assert (summary.sent, summary.delivered, summary.failed, summary.labels_sent) == (
        2500, 2500, 0, 0)
    assert [m.key.decode() for m in fake.sent] == [f"t-{i}" for i in range(2500)]
    assert all(m.topic == "diamonds.events" for m in fake.sent)
    for m in fake.sent[::50]:
        event = validate_event(orjson.loads(m.value))
        assert event.event_time == m.timestamp  # Kafka timestamp == event_time
    config = fake.config
    assert config["enable.idempotence"] is True and config["compression.type"] == "lz4"
    assert config["linger.ms"] == 10 and config["bootstrap.servers"] == "127.0.0.1:9092"


def test_delivery_failures_are_counted_and_fail_the_run(
    test_rows: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    summary, _ = run(test_rows, settings(events=100), fail_every=10)
    assert (summary.sent, summary.delivered, summary.failed) == (100, 90, 10)
    assert not summary.ok and "INCOMPLETE" in summary.line()
    assert "Local: Message timed out" in caplog.text
    assert "10 deliveries failed with _MSG_TIMED_OUT" in caplog.text


def test_full_local_queue_is_polled_and_retried(test_rows: pd.DataFrame) -> None:
    summary, fake = run(test_rows, settings(events=300), full_every=50)
    assert fake.buffer_errors > 0
    assert summary.ok and summary.sent == 300
    assert len({m.key for m in fake.sent}) == 300


def test_labels_follow_their_events_after_the_delay(test_rows: pd.DataFrame) -> None:
    s = settings(events=400, rate=2000, labels=True, label_delay=0.2)
    summary, fake = run(test_rows, s)
    assert summary.ok and (summary.labels_sent, summary.labels_delivered) == (400, 400)
    events = {m.key: m for m in fake.sent if m.topic == "diamonds.events"}
    labels = [m for m in fake.sent if m.topic == "diamonds.labels"]
    assert len(labels) == 400 and {m.key for m in labels} == set(events)
    for label in labels:
        event = events[label.key]
        assert label.at - event.at >= 0.2
        payload = orjson.loads(label.value)
        assert payload["event_id"] == label.key.decode()
        assert payload["event_time"] == event.timestamp and isinstance(payload["price"], int)


def test_bounded_label_queue_makes_the_producer_wait(test_rows: pd.DataFrame) -> None:
    s = settings(events=1000, labels=True, label_delay=0.1, max_pending_labels=200)
    summary, fake = run(test_rows, s)
    assert summary.ok and summary.labels_sent == 1000
    assert summary.seconds >= 0.4  # 1000 events, at most 200 per 0.1 s
    in_flight = 0
    for m in fake.sent:
        in_flight += 1 if m.topic == "diamonds.events" else -1
        assert in_flight <= 200


def test_no_wait_labels_sends_pending_labels_at_once(test_rows: pd.DataFrame) -> None:
    s = settings(events=50, labels=True, label_delay=30, wait_labels=False)
    summary, fake = run(test_rows, s)
    assert summary.ok and summary.labels_sent == 50
    assert_labels_sent_before_due(fake, delay=30)


def test_rate_and_duration_bound_the_run(test_rows: pd.DataFrame) -> None:
    summary, _ = run(test_rows, settings(events=None, duration=1.0, rate=2000))
    assert summary.sent == pytest.approx(2000, rel=0.05)
    assert summary.seconds == pytest.approx(1.0, abs=0.1)


def test_a_stop_request_ends_generation_gracefully(test_rows: pd.DataFrame) -> None:
    stop = StopRequest()
    summary, _ = run(test_rows, settings(events=100_000, rate=0), stop=stop,
                     on_produce=lambda n: stop.request() if n == 1500 else None)
    assert summary.interrupted and summary.ok
    assert 1500 <= summary.sent < 3000


def test_main_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rate", "-3"]) == 2
    assert "rate" in capsys.readouterr().err
    # nothing listens on port 1: a setup error names the servers and exits 1
    assert main(["--bootstrap-servers", "127.0.0.1:1", "--admin-timeout", "1"]) == 1
    assert "no Kafka broker answered at 127.0.0.1:1 within 1 s" in capsys.readouterr().err


def test_second_stop_sends_pending_labels_at_once(test_rows: pd.DataFrame) -> None:
    stop = StopRequest()

    def twice(n: int) -> None:
        if n == 100:
            stop.request()
            stop.request()

    s = settings(events=10_000, labels=True, label_delay=30)
    summary, fake = run(test_rows, s, stop=stop, on_produce=twice)
    assert summary.ok and summary.interrupted
    assert summary.labels_sent == summary.sent >= 100
    assert_labels_sent_before_due(fake, delay=30)


def test_signals_become_stop_requests_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with handle_signals(StopRequest()) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.count == 2
    assert signal.getsignal(signal.SIGTERM) is before
