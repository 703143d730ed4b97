"""One scenario in one guarantee mode: fresh topics and group, the stream, the consumers, the
progress record (committed offsets and RSS over time), the final audit and its verdict."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.audit import Audit, audit
from tests.chaos.cluster import Cluster
from tests.chaos.corpus import INPUT_TOPIC_CONFIG
from tests.chaos.proc import ConsumerProc, MetricsWatch
from tests.chaos.stream import Stream, StreamProducer

log = logging.getLogger(__name__)

GUARANTEES = ("exactly-once", "at-least-once")


@dataclass(frozen=True)
class Options:
    events: int
    model_dir: Path
    workdir: Path
    quick: bool = False
    seed: int = 7
    batch_size: int = 500
    soak_seconds: float = 600.0
    soak_rate: float = 2000.0
    kafka_config: tuple[str, ...] = ()  # KEY=VALUE for every consumer (--kafka-config)
    # each consumer slot runs with a stable --replica-id (a restart takes its partitions back
    # and fences its predecessor at once); False: a random identity per process, as before
    replica_ids: bool = True


@dataclass
class Result:
    scenario: str
    guarantee: str
    events_in: int = 0
    valid_in: int = 0
    predictions_unique: int = 0
    duplicates: int = 0
    lost: int = 0
    dlq: int = 0
    faults_injected: int = 0
    recovery_s: float | None = None
    restarts: int = 0  # consumers that exited non-zero and were started again
    metrics_polls: int = 0
    metrics_failures: int = 0
    poison_in: int = 0
    wrong_reason: int = 0
    misrouted: int = 0
    seconds: float = 0.0
    failed_checks: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failed_checks

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


class Progress(threading.Thread):
    """Samples the group's committed total and every live consumer's RSS every `interval` s."""

    def __init__(self, run: Run, interval: float = 0.25) -> None:
        super().__init__(name="chaos-progress", daemon=True)
        self.run_ = run
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (monotonic time, committed total)
        self.rss: list[tuple[float, str, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            now = time.monotonic()
            total = self.run_.committed_total()
            if total is not None:
                self.samples.append((now, total))
            for proc in list(self.run_.procs):
                rss = proc.rss()
                if rss is not None:
                    self.rss.append((now, proc.name, rss))

    def recovery(self, when: float, base: int) -> float | None:
        """Seconds from `when` until the committed total first moved past `base`."""
        for t, total in self.samples:
            if t > when and total > base:
                return t - when
        return None

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


class Run:
    def __init__(self, cluster: Cluster, opts: Options, scenario: str, guarantee: str,
                 stream: Stream, *, rate: float | None, input_config: dict[str, str] | None = None,
                 exact: bool = False) -> None:
        tag = uuid.uuid4().hex[:8]
        short = "eos" if guarantee == "exactly-once" else "alo"
        self.cluster, self.opts, self.scenario, self.guarantee = cluster, opts, scenario, guarantee
        self.stream, self.rate, self.exact = stream, rate, exact
        self.input_config = input_config if input_config is not None else (
            INPUT_TOPIC_CONFIG if stream.poison else {})
        base = f"chaos.{scenario}.{short}.{tag}"
        self.input, self.output, self.dlq = f"{base}.in", f"{base}.out", f"{base}.dlq"
        self.labels, self.reports = f"{base}.labels", f"{base}.drift"
        self.expected_in, self.expected_valid = len(stream), stream.valid
        self.group = f"chaos-{scenario}-{short}-{tag}"
        self.logdir = opts.workdir / f"{scenario}-{short}"
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.procs: list[ConsumerProc] = []
        self.watch = MetricsWatch()
        self.progress = Progress(self)
        self.producer: StreamProducer | None = None
        self.faults: list[tuple[str, float, int]] = []  # kind, time, committed total then
        self.recoveries: list[float | None] = []
        self.result = Result(scenario, guarantee)
        self.sample_errors = 0
        self.restarts: list[str] = []  # consumers restarted after a non-zero exit
        self.started = time.monotonic()

    # -- setup and teardown ------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator[Run]:
        self.cluster.create_topics([self.input], config=self.input_config)
        extra = [self.labels, self.reports] if self.supports("labels_topic") else []
        self.cluster.create_topics([self.output, self.dlq, *extra])
        self.watch.start()
        self.progress.start()
        try:
            yield self
        finally:
            for proc in self.procs:
                if proc.alive:
                    log.warning("%s still running at the end: killing it", proc.name)
                    proc.kill()
            self.watch.stop()
            self.progress.stop()

    def start_stream(self) -> StreamProducer:
        self.producer = StreamProducer(self.cluster.bootstrap_servers, self.input,
                                       self.stream.records, self.rate)
        self.producer.start()
        return self.producer

    def consumer_args(self, *extra: str, slot: int = 1) -> list[str]:
        """The flags of the consumer in `slot` (its replica id, when the run uses them)."""
        return [
            "--bootstrap-servers", self.cluster.client_bootstrap, "--input-topic", self.input,
            "--output-topic", self.output, "--dlq-topic", self.dlq, "--group-id", self.group,
            "--model-path", str(self.opts.model_dir), "--guarantee", self.guarantee,
            "--batch-size", str(self.opts.batch_size), "--lag-interval", "1",
            "--broker-timeout", "60",
            *[arg for key, value in self.cluster.client_config.items()
              for arg in ("--kafka-config", f"{key}={value}")],
            *[arg for item in self.opts.kafka_config for arg in ("--kafka-config", item)],
            *(["--labels-topic", self.labels] if self.supports("labels_topic") else []),
            *(["--drift-reports-topic", self.reports] if self.supports("drift_reports_topic")
              else []),
            *(["--replica-id", f"replica-{slot}"] if self.opts.replica_ids
              and self.supports("replica_id") else []),
            *extra,
        ]

    @staticmethod
    def supports(setting: str) -> bool:
        """Does `python -m consumer` have this setting (drift/labels are optional)?"""
        from consumer.settings import ConsumerSettings

        return setting in ConsumerSettings.model_fields

    def consumer(self, *extra: str, env: dict[str, str] | None = None,
                 name: str | None = None, slot: int = 1) -> ConsumerProc:
        """Start a consumer in `slot`: a restart uses its predecessor's slot (its identity)."""
        name = name or f"consumer-{len(self.procs) + 1}"
        proc = ConsumerProc(name, self.consumer_args(*extra, slot=slot),
                            self.logdir / f"{name}.log", env, slot=slot)
        self.procs.append(proc)
        self.watch.add(proc)
        return proc.start()

    def ready(self, proc: ConsumerProc, timeout: float = 120.0) -> ConsumerProc:
        """Wait until `proc` serves /metrics and has its partitions."""
        self.wait_until(f"{proc.name} ready", lambda: proc.served and " assigned " in
                        proc.log_text(), timeout, [proc])
        return proc

    # -- progress ----------------------------------------------------------------------------
    def committed_total(self) -> int | None:
        try:
            return sum(self.cluster.committed(self.group, self.input).values())
        except Exception as exc:  # the broker may be down: no sample
            self.sample_errors += 1
            if self.sample_errors <= 3:
                log.warning("no committed-offsets sample: %s: %s", type(exc).__name__, exc)
            return None

    def wait_until(self, what: str, check: Any, timeout: float,
                   alive: Sequence[ConsumerProc] = ()) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            for proc in alive:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.name} exited with {proc.returncode} while waiting "
                                       f"for {what}; see {proc.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.scenario}/{self.guarantee}: no {what} in {timeout} s")
            time.sleep(0.2)

    def wait_committed(self, at_least: int, timeout: float = 120.0,
                       alive: Sequence[ConsumerProc] = ()) -> None:
        self.wait_until(f"committed >= {at_least}",
                        lambda: (self.committed_total() or 0) >= at_least, timeout, alive)

    def wait_progress(self, events: int = 1, timeout: float = 120.0,
                      alive: Sequence[ConsumerProc] = ()) -> None:
        """Wait until `events` more input events are committed than now."""
        self.wait_committed((self.committed_total() or 0) + events, timeout, alive)

    def drain(self, alive: Sequence[ConsumerProc], timeout: float = 600.0) -> None:
        """The whole stream produced, then every input record committed."""
        assert self.producer is not None
        self.producer.wait(timeout)
        end = sum(self.cluster.end_offsets(self.input).values())
        self.wait_committed(end, timeout, alive)

    def supervised(self, proc: ConsumerProc) -> ConsumerProc:
        """What a process supervisor does: a consumer that exited non-zero is started again."""
        code = proc.poll()
        if code is None or code == 0:
            return proc
        tail = [line for line in proc.log_text().splitlines() if line.startswith("error:")]
        self.restarts.append(f"{proc.name} exited {code}: {tail[-1][:300] if tail else '?'}")
        log.warning("%s/%s: %s; restarting it", self.scenario, self.guarantee,
                    self.restarts[-1])
        return self.consumer(slot=proc.slot)

    def supervised_progress(self, proc: ConsumerProc, events: int,
                            timeout: float = 300.0) -> ConsumerProc:
        """Until `events` more offsets are committed than now."""
        return self.supervised_until(proc, (self.committed_total() or 0) + events, timeout)

    def supervised_until(self, proc: ConsumerProc, target: int,
                         timeout: float = 300.0) -> ConsumerProc:
        """Until the committed total reaches `target`, restarting a consumer that failed."""
        deadline = time.monotonic() + timeout
        while (self.committed_total() or 0) < target:
            proc = self.supervised(proc)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.scenario}/{self.guarantee}: no progress in {timeout} s")
            time.sleep(0.2)
        return proc

    def supervised_drain(self, proc: ConsumerProc, timeout: float = 600.0) -> ConsumerProc:
        """Until every input offset is committed. The target is the input's end itself: as a
        count from the committed total, it went past the end whenever a commit landed between
        the two reads of that total, and the drain waited for its timeout."""
        assert self.producer is not None
        self.producer.wait(timeout)
        end = sum(self.cluster.end_offsets(self.input).values())
        return self.supervised_until(proc, end, timeout)

    def fault(self, kind: str) -> float:
        """Record a fault (call it once the fault is in place: after the kill). Recovery is the
        time until the committed offsets move past their total now, or past their total when
        `fault_over()` is called."""
        when = time.monotonic()
        self.faults.append((kind, when, self.committed_total() or 0))
        log.info("%s/%s: fault %d: %s", self.scenario, self.guarantee, len(self.faults), kind)
        return when

    def fault_over(self) -> None:
        """The last fault ends now (the broker is back, the ACL is gone)."""
        kind, _, _ = self.faults[-1]
        self.faults[-1] = (kind, time.monotonic(), self.committed_total() or 0)

    # -- verdict -----------------------------------------------------------------------------
    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.result.failed_checks.append(what)

    def finish(self, *, timeout: float = 240.0) -> Result:
        for proc in self.procs:
            if proc.alive:
                # a consumer still starting has no SIGTERM handler yet (it would die of the
                # signal): it serves /metrics only after installing it
                self.wait_until(f"{proc.name} serving", lambda p=proc: p.served, 120, [proc])
                code = proc.terminate()
                self.check(code == 0, f"{proc.name} exited {code} after SIGTERM")
        a = audit(self.cluster, self.input, self.output, self.dlq, self.stream.poison, timeout)
        self._fill(a)
        return self.result

    def _fill(self, a: Audit) -> None:
        r = self.result
        time.sleep(2 * self.progress.interval)  # one more committed sample
        r.events_in, r.valid_in, r.poison_in = a.events_in, a.valid_in, a.poison_in
        r.predictions_unique, r.dlq, r.duplicates, r.lost = (
            a.predictions_unique, a.dlq, a.duplicates, a.lost)
        r.wrong_reason, r.misrouted = a.wrong_reason, a.misrouted
        r.faults_injected = len(self.faults)
        final = self.committed_total() or 0
        # no progress after a fault that came when everything was already committed: nothing
        # to recover (0 s), not a failure
        self.recoveries = [
            0.0 if (x := self.progress.recovery(t, base)) is None and base >= final else x
            for _, t, base in self.faults
        ]
        known = [x for x in self.recoveries if x is not None]
        r.recovery_s = round(max(known), 2) if known else None
        r.metrics_polls, r.metrics_failures = self.watch.polls, self.watch.failures
        r.restarts = len(self.restarts)
        r.seconds = round(time.monotonic() - self.started, 1)
        r.details.update({
            "faults": [kind for kind, _, _ in self.faults],
            "recovery_each_s": [None if x is None else round(x, 2) for x in self.recoveries],
            "exit_codes": [p.returncode for p in self.procs],
            "supervisor_restarts": self.restarts, "progress_sample_errors": self.sample_errors,
            "predictions_total": a.predictions, "dlq_total": a.dlq_records,
            "dlq_reasons": a.dlq_reasons, "unknown_outputs": a.unknown_outputs,
            "examples": a.examples, "metrics_failure_notes": self.watch.failure_notes[:5],
            "logs": str(self.logdir),
        })
        self.check(r.events_in == self.expected_in, f"events_in {r.events_in} != produced "
                   f"{self.expected_in}")
        self.check(r.valid_in == self.expected_valid, f"valid_in {r.valid_in} != "
                   f"{self.expected_valid}")
        self.check(r.lost == 0, f"lost {r.lost}")
        if self.exact or self.guarantee == "exactly-once":
            self.check(r.duplicates == 0, f"duplicates {r.duplicates}")
        self.check(r.misrouted == 0, f"misrouted {r.misrouted}")
        self.check(a.unknown_outputs == 0, f"unknown outputs {a.unknown_outputs}")
        self.check(r.wrong_reason == 0, f"wrong dead-letter reasons {r.wrong_reason}")
        self.check(r.dlq == r.poison_in, f"dlq {r.dlq} != poison_in {r.poison_in}")
        self.check(r.metrics_failures == 0, f"metrics failures {r.metrics_failures}")
        self.check(r.metrics_polls > 0, "metrics never scraped")
        self.check(None not in self.recoveries, "no progress after a fault")
