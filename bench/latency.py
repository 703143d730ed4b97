"""End-to-end latency under a steady load: `python -m producer --rate R` into a subprocess
consumer, a read_committed reader on the predictions.

Latency of one event = the time the reader receives its prediction - the event's `event_time`
(stamped by the producer when it creates the event). This is what a downstream read_committed
reader experiences: producer linger, the consumer's batching, scoring, the transaction commit
and the fetch. The prediction's Kafka timestamp is set when the consumer *produces* it, before
its transaction commits, so `timestamp - event_time` misses the commit: reported as
`latency_produce_ms` for comparison only. The consumer's own histogram (commit time - event
time, bucketed) is read from /metrics at the end. The first `warmup` seconds are not measured.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.exceptions import CaseError
from bench.process import REPO, ConsumerProcess, EchoProcess, child_env, consumer_args
from bench.topics import Topics, unique
from common.heap import freeze_startup_heap
from common.prometheus_text import Scrape, histogram_quantile

log = logging.getLogger(__name__)

HISTOGRAM = "diamond_end_to_end_latency_seconds"


class PredictionReader:
    """A read_committed reader of a predictions topic in a daemon thread."""

    def __init__(self, bootstrap_servers: str, topic: str, partitions: int) -> None:
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap_servers, "group.id": unique("reader"),
            "isolation.level": "read_committed", "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        })
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                              for p in range(partitions)])
        self.received: list[float] = []  # epoch ms
        self.event_times: list[int] = []
        self.timestamps: list[int] = []
        self.last_receive = time.monotonic()
        self._lock = threading.Lock()  # `take` swaps the lists between two batches
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-reader", daemon=True)

    def start(self) -> PredictionReader:
        self._thread.start()
        return self

    def _run(self) -> None:
        """What arrived, stamped as soon as it is returned: consume() with a timeout waits for
        all of its `num_messages` (a 50 ms wait would add up to 50 ms to every latency), so
        take what is there, and when nothing is, wait for the first message only."""
        loads = orjson.loads
        consume = self.consumer.consume
        while not self._stop.is_set():
            messages = consume(num_messages=10_000, timeout=0) or consume(num_messages=1,
                                                                          timeout=0.05)
            now_ms = time.time() * 1000
            with self._lock:
                for msg in messages:
                    if msg.error() is not None:
                        continue
                    self.received.append(now_ms)
                    self.event_times.append(loads(msg.value() or b"{}")["event_time"])
                    self.timestamps.append(msg.timestamp()[1])
            if messages:
                self.last_receive = time.monotonic()

    def wait_for(self, count: int, idle: float = 10.0) -> None:
        while len(self.received) < count and time.monotonic() - self.last_receive < idle:
            time.sleep(0.1)

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What was read so far (receive times, event times, timestamps), and start afresh."""
        with self._lock:
            taken = (np.asarray(self.received), np.asarray(self.event_times, dtype=np.float64),
                     np.asarray(self.timestamps, dtype=np.float64))
            self.received, self.event_times, self.timestamps = [], [], []
        return taken

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.consumer.close()


def percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 1), "p95": round(float(p95), 1), "p99": round(float(p99), 1)}


def histogram_quantiles(scrape: Scrape, name: str = HISTOGRAM) -> dict[str, float] | None:
    """p50/p95/p99 in ms from a Prometheus histogram, as histogram_quantile gives them (None
    when it has no observation)."""
    buckets = scrape.buckets(name)
    if not buckets or buckets[-1][1] == 0:
        return None
    return {label: round(histogram_quantile(q, buckets) * 1000, 1)
            for label, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))}


@dataclass(frozen=True)
class LatencyResult:
    latency_ms: dict[str, float]
    latency_produce_ms: dict[str, float]
    consumer_histogram_ms: dict[str, float] | None
    measured: int
    sent: int
    received: int
    rate: float
    startup_s: float | None
    max_rss_mb: float | None
    sampled_rss_mb: float
    labels: bool
    seconds: float  # of sending

    @property
    def sent_rate(self) -> float:
        """Events/s the producer actually sent (it may fall short of `rate`)."""
        return self.sent / self.seconds if self.seconds else 0.0


class Point(NamedTuple):
    """One measurement of `run_latency_points`: the producer's rate, and whether it also sends
    each event's label."""

    rate: float
    labels: bool = False


def run_latency_points(
    bootstrap_servers: str, topics: Topics, model_path: Path, *, points: Sequence[Point],
    seconds: float, warmup: float, partitions: int, batch_size: int,
    drift_args: Callable[..., list[str]] | None, work_dir: Path,
    guarantee: str | None = None, name: str = "latency", bare: bool = False,
) -> list[LatencyResult]:
    """Each of `points` in turn on one consumer process (the full run gives each point its own
    consumer; `--quick` runs several on one, saving a start per point). A point starts once
    every prediction of the one before it was read, so each measures its own events only; the
    startup and memory of every result are the one consumer's, its histogram is over every
    point. `drift_args` gives the consumer's drift/label-join flags (None: the consumer has no
    such settings); a point with `labels` has the producer also send each event's label 2 s
    later, so the label join runs as in production (the consumer then reads twice as many
    messages); labels need `drift_args`. `guarantee` None keeps the consumer's default; `name`
    prefixes the log files."""
    topic_in = topics.create(f"{name}.in", partitions)
    topic_out, topic_dlq = topics.outputs(name, partitions)
    extra = ["--batch-size", str(batch_size)]
    if guarantee is not None:
        extra += ["--guarantee", guarantee]
    with_labels: list[str] = []
    if drift_args is not None:
        labels_topic = topics.create(f"{name}.labels", partitions)
        extra += drift_args(labels_topic=labels_topic)
        with_labels = ["--labels", "--labels-topic", labels_topic, "--label-delay", "2",
                       "--no-wait-labels"]
    args = consumer_args(bootstrap_servers, topic_in, topic_out, topic_dlq, unique("latency"),
                         model_path, extra)
    log_file = work_dir / f"{name}-{'echo' if bare else 'consumer'}.log"
    consumer = EchoProcess(args, log_file) if bare else ConsumerProcess(args, log_file)
    consumer.start()
    reader: PredictionReader | None = None
    measured: list[tuple[Point, bool, int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
    try:
        startup = consumer.wait_ready()
        consumer.wait_assigned()
        freeze_startup_heap()  # a full collection here would delay the reader's stamps
        reader = PredictionReader(bootstrap_servers, topic_out, partitions).start()
        for index, point in enumerate(points):
            producer_extra = with_labels if point.labels else []
            log_name = f"{name}-producer.log" if len(points) == 1 else (
                f"{name}-{index}-producer.log")
            sent = _produce(bootstrap_servers, topic_in, point.rate, seconds, producer_extra,
                            work_dir / log_name)
            reader.wait_for(sent)
            measured.append((point, bool(producer_extra), sent, reader.take()))
        histogram = (None if isinstance(consumer, EchoProcess)
                     else histogram_quantiles(consumer.scrape()))
    finally:
        if reader is not None:
            reader.close()
        code = consumer.stop()
    if code != 0:
        raise CaseError(f"latency {'bare client' if bare else 'consumer'} exited with {code}: "
                        f"{consumer.tail()}")
    results = []
    for point, labels, sent, (received, event_times, stamps) in measured:
        if len(received) < sent:
            raise CaseError(f"latency: {sent} events sent but {len(received)} predictions read")
        keep = event_times >= event_times.min() + warmup * 1000
        results.append(LatencyResult(
            latency_ms=percentiles(received[keep] - event_times[keep]),
            latency_produce_ms=percentiles(stamps[keep] - event_times[keep]),
            consumer_histogram_ms=histogram, measured=int(keep.sum()), sent=sent,
            received=len(received), rate=point.rate, startup_s=startup,
            max_rss_mb=consumer.max_rss_mb, sampled_rss_mb=round(consumer.sampled_rss_mb, 1),
            labels=labels, seconds=seconds,
        ))
    return results


def _produce(bootstrap_servers: str, topic: str, rate: float, seconds: float,
             extra: list[str], log_path: Path) -> int:
    cmd = [sys.executable, "-m", "producer", "--bootstrap-servers", bootstrap_servers,
           "--topic", topic, "--rate", str(rate), "--duration", str(seconds),
           "--no-create-topics", "--run-id", "latency", "--seed", "7", *extra]
    with log_path.open("ab") as out:
        done = subprocess.run(cmd, cwd=REPO, env=child_env(LOG_LEVEL="WARNING"),
                              stdout=subprocess.PIPE, stderr=out, timeout=seconds + 120,
                              check=False)
    text = done.stdout.decode(errors="replace")
    match = re.search(r"sent=(\d+)", text)
    if done.returncode != 0 or match is None:
        raise CaseError(f"producer failed ({done.returncode}): {text[-500:]} "
                        f"(log {log_path})")
    return int(match.group(1))
