"""Fixtures of the integration tests (the broker fixtures live in tests/conftest.py).

Scoring service:

- ``model_dir`` (session): a real artifact trained once on a sample, in a temp dir.
- ``event_rows`` (session): the held-out test split the events are built from.
- ``make_events(n, bad=...)``: (keys, values, rows) of valid JSON events, built with orjson.
- ``shifted_stream(start, n, run)``: keys, event values, label values and the true prices by
  event_id of events start..start+n of the test rows with true prices x1.60 (the producer's
  `concept-drift` scenario from the first event).
- ``produce_values(topic, values, keys)``: produce and return each record's (partition, offset).
- ``drain_topic(topic)``: every committed record of a topic, read with read_committed up to
  the end it had when the drain started.
- ``consumer_settings(**overrides)``: ConsumerSettings for the broker and a fresh group.
- ``running_service(settings, timeout=30)``: a context manager running a ScoringService (fresh
  registry) in a thread; yields it once its metrics server listens, stops it at exit and fails
  the test if it raised or did not stop within ``timeout`` s.
- ``running_retrainer(settings)``: the same for a RetrainerService; yields (service, errors,
  metrics registry): `errors` collects what its thread raised, checked again at exit.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from confluent_kafka import KafkaError, Message, Producer
from prometheus_client import CollectorRegistry

from common.contracts.labels import encode_label
from common.kafka import Record, produce_all, read_to_end
from consumer import ScoringService
from consumer.settings import ConsumerSettings
from model.data import load_diamonds, split
from model.features import FEATURES
from model.settings import TrainSettings
from model.train_job import run_training
from producer.scenarios import ConceptDrift
from retrainer import RetrainerService, RetrainerSettings

TRAIN_SAMPLE = 8000


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("model")
    run_training(TrainSettings(output_dir=directory, sample=TRAIN_SAMPLE))
    return directory


@pytest.fixture(scope="session")
def event_rows() -> pd.DataFrame:
    _, test = split(load_diamonds())
    return test.reset_index(drop=True)


@pytest.fixture
def make_events(
    event_rows: pd.DataFrame,
) -> Callable[..., tuple[list[bytes], list[bytes], pd.DataFrame]]:
    """n valid events cycling over the test rows: keys, JSON values and their feature rows."""

    def make(n: int) -> tuple[list[bytes], list[bytes], pd.DataFrame]:
        run = uuid.uuid4().hex[:8]
        rows = event_rows.iloc[[i % len(event_rows) for i in range(n)]].reset_index(drop=True)
        records = rows[list(FEATURES)].to_dict(orient="records")
        now = time.time_ns() // 1_000_000
        ids = [f"{run}-{i}" for i in range(n)]
        values = [
            orjson.dumps({"event_id": event_id, **record, "event_time": now})
            for event_id, record in zip(ids, records, strict=True)
        ]
        rows.index = pd.Index(ids, name="event_id")
        return [i.encode() for i in ids], values, rows[list(FEATURES)]

    return make


Stream = tuple[list[bytes], list[bytes], list[bytes], dict[str, float]]


@pytest.fixture
def shifted_stream(event_rows: pd.DataFrame) -> Callable[[int, int, str], Stream]:
    def make(start: int, n: int, run: str) -> Stream:
        index = np.arange(start, start + n)
        picked = event_rows.iloc[index % len(event_rows)].reset_index(drop=True)
        features, prices = ConceptDrift(onset=0).apply(picked, index, np.random.default_rng(0))
        now = time.time_ns() // 1_000_000
        ids = [f"{run}-{i}" for i in index]
        events = [orjson.dumps({"event_id": event_id, **record, "event_time": now})
                  for event_id, record in zip(ids, features.to_dict(orient="records"),
                                              strict=True)]
        labels = [encode_label(event_id, int(price), now)
                  for event_id, price in zip(ids, prices, strict=True)]
        truth = {event_id: float(int(price)) for event_id, price in zip(ids, prices, strict=True)}
        return [i.encode() for i in ids], events, labels, truth

    return make


@pytest.fixture
def produce_values(bootstrap_servers: str) -> Callable[..., list[tuple[int, int]]]:
    def produce(
        topic: str, values: Sequence[bytes | None], keys: Sequence[bytes | None]
    ) -> list[tuple[int, int]]:
        producer = Producer(
            {"bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "linger.ms": 20}
        )
        coords: list[tuple[int, int] | None] = [None] * len(values)

        def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
            def callback(err: KafkaError | None, msg: Message) -> None:
                assert err is None, err
                coords[index] = (msg.partition(), msg.offset())

            return callback

        # one call per record: each record's callback knows its index
        for index, (key, value) in enumerate(zip(keys, values, strict=True)):
            produce_all(producer, [Record(topic, key, value)], timeout=30,
                        on_delivery=delivered(index), poll_every=0)
        assert producer.flush(30) == 0
        assert all(c is not None for c in coords)
        return [c for c in coords if c is not None]

    return produce


@pytest.fixture
def drain_topic(bootstrap_servers: str) -> Callable[..., list[Message]]:
    """Every committed record of `topic`, read from the beginning up to the end."""

    def drain(topic: str, timeout: float = 30.0) -> list[Message]:
        return read_to_end(bootstrap_servers, topic, timeout=timeout)

    return drain


@pytest.fixture
def consumer_settings(
    bootstrap_servers: str, model_dir: Path, unique_group_id: Callable[..., str]
) -> Callable[..., ConsumerSettings]:
    def make(**overrides: Any) -> ConsumerSettings:
        values: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "group_id": unique_group_id("scorer"),
            "model_path": model_dir,
            "metrics_port": 0,
            "metrics_addr": "127.0.0.1",
            "lag_interval": 0.5,
            **overrides,
        }
        return ConsumerSettings(**values)

    return make


@contextmanager
def _in_thread(
    run: Callable[[], object], stop: threading.Event, *, name: str, what: str, timeout: float,
    on_error: Callable[[], None] = lambda: None,
) -> Iterator[list[BaseException]]:
    """`run()` in a daemon thread; yields the errors it raised (kept for the test, not lost in
    the thread); at exit sets `stop` and fails if the thread did not stop or raised."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
            on_error()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(timeout)
    assert not thread.is_alive(), f"{what} did not stop"
    assert not errors, errors


@contextmanager
def _running(settings: ConsumerSettings, timeout: float = 30.0) -> Iterator[ScoringService]:
    stop = threading.Event()
    service = ScoringService(settings, registry=CollectorRegistry(), stop_event=stop)
    with _in_thread(service.run, stop, name="service-under-test", what="the scoring service",
                    timeout=timeout, on_error=service.started.set) as errors:
        assert service.started.wait(timeout) and not errors, errors or "not started in time"
        assert service.metrics_port is not None
        yield service


@pytest.fixture
def running_service() -> Callable[..., AbstractContextManager[ScoringService]]:
    return _running


@contextmanager
def _running_retrainer(
    settings: RetrainerSettings, timeout: float = 30.0
) -> Iterator[tuple[RetrainerService, list[BaseException], CollectorRegistry]]:
    stop = threading.Event()
    metrics = CollectorRegistry()
    service = RetrainerService(settings, registry=metrics, stop_event=stop)
    with _in_thread(service.run, stop, name="retrainer-under-test", what="the retrainer",
                    timeout=timeout) as errors:
        yield service, errors, metrics


@pytest.fixture
def running_retrainer() -> Callable[..., AbstractContextManager[
        tuple[RetrainerService, list[BaseException], CollectorRegistry]]]:
    return _running_retrainer
