"""The scripted story: baseline, data drift, concept drift with late labels, back to baseline.

`Story.run()` starts the broker, the topics, the consumer and Prometheus, runs one producer
process per phase while the live view refreshes, waits for the consumer to catch up, then
collects the drift reports and the numbers of the summary. Whatever happens, every process it
started is stopped by pid (the `ExitStack` closes under `deferred_signals`). It returns a
`StoryResult`; rendering the files is `demo.__main__`'s job.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from demo import kafka_io
from demo.exceptions import Interrupted, ProcessFailed
from demo.live_view import LiveView, ViewState
from demo.metrics_reader import ConsumerStatus, MetricsReader
from demo.processes import GROUP_ID, ChildProcess, deferred_signals, producer_process
from demo.services import (
    CONSUMER_PORT,
    preferred_port,
    start_consumer,
    start_prometheus,
    start_registry,
    start_retrainer,
)
from demo.settings import (
    DRIFT_REPORTS_TOPIC,
    EVENTS_TOPIC,
    LABELS_TOPIC,
    MODELS_TOPIC,
    MODELS_TOPIC_CONFIG,
    TOPICS,
    DemoSettings,
)
from demo.summary import PhaseRun, Record
from infra.prometheus import LocalPrometheus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhasePlan:
    name: str
    scenario: str  # the producer's
    labels: bool
    note: str
    expected: tuple[str, ...] = ()  # the flags it should raise; any other is a false flag


PHASES = (
    PhasePlan("baseline", "baseline", False,
              "held-out test rows as they are: nothing should be flagged"),
    PhasePlan("data-drift", "data-drift", False,
              "carat x1.30, 40% of clarities redrawn from SI2/I1",
              ("carat", "clarity", "dataset", "prediction", "estimated_performance")),
    PhasePlan("concept-drift", "concept-drift", True,
              "same stones as baseline, true prices x1.60: the data flags clear; the "
              "retrainer trains on the alarm",
              ("concept",)),
    PhasePlan("back-to-baseline", "baseline", True,
              "held-out rows and true prices again: every flag clears"),
)
# The closing act (--retrain, the default) replaces the return to baseline: the prices stay
# shifted, the retrained model wins in shadow, is promoted and swapped in; the concept flag
# clears with the swap. (Back at baseline prices the new model would be the one drifting.)
RETRAINED = PhasePlan("retrained", "concept-drift", True,
                      "true prices still x1.60: the challenger wins in shadow, is promoted and "
                      "swapped in; the concept flag clears with the swap")


def phase_plans(settings: DemoSettings) -> tuple[PhasePlan, ...]:
    return (*PHASES[:3], RETRAINED) if settings.retrain else PHASES
@dataclass
class StoryResult:
    started_ms: int = 0
    phases: list[PhaseRun] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    final: ConsumerStatus | None = None
    final_lag: int | None = None
    failures: list[str] = field(default_factory=list)
    metrics_url: str = ""
    retrainer_url: str | None = None
    announcements: list[dict[str, Any]] = field(default_factory=list)
    prometheus_url: str | None = None
    bootstrap_servers: str = ""
    interrupted: bool = False


class Story:
    def __init__(self, settings: DemoSettings, out: TextIO) -> None:
        self.settings = settings
        self.out = out
        self.view = LiveView(out, status_interval=settings.status_interval)
        self.result = StoryResult()
        self.reader: MetricsReader | None = None
        self.prometheus: LocalPrometheus | None = None
        self.retrainer: ChildProcess | None = None
        self.phases = phase_plans(settings)
        self._started = time.monotonic()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run(self) -> StoryResult:
        s, r = self.settings, self.result
        stack = ExitStack()
        try:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="diamond-demo-")))
            self.say("starting a Kafka broker of the demo's own...")
            broker = kafka_io.start_broker(tmp / "kafka", s.logs_dir / "broker.log",
                                           timeout=s.startup_timeout)
            stack.callback(broker.stop)
            r.bootstrap_servers = broker.bootstrap_servers
            kafka_io.create_topics(r.bootstrap_servers, TOPICS, s.partitions)
            registry = None
            if s.retrain:
                kafka_io.create_topics(r.bootstrap_servers, [MODELS_TOPIC], 1,
                                       config=MODELS_TOPIC_CONFIG)
                registry = start_registry(s.model_path, tmp / "registry")
            kafka_io.warm_up_transactions(r.bootstrap_servers)
            topics = [*TOPICS, *([MODELS_TOPIC] if s.retrain else [])]
            self.say(f"broker ready at {r.bootstrap_servers}; topics: {', '.join(topics)}")
            port = preferred_port(CONSUMER_PORT)
            consumer = start_consumer(s, r.bootstrap_servers, port, model_path=registry)
            stack.callback(consumer.stop, s.stop_timeout)
            r.metrics_url = f"http://127.0.0.1:{port}/metrics"
            self.say(f"consumer pid {consumer.pid} ready: {r.metrics_url}")
            if registry is not None:
                self.retrainer, retrainer_port = start_retrainer(s, r.bootstrap_servers,
                                                                 registry)
                stack.callback(self.retrainer.stop, s.stop_timeout)
                r.retrainer_url = f"http://127.0.0.1:{retrainer_port}/metrics"
                self.say(f"retrainer pid {self.retrainer.pid} (registry {registry}, champion "
                         "v0001): it trains on the first concept alarm")
            self.prometheus = start_prometheus(s, port, tmp / "prometheus", self.say)
            if self.prometheus is not None:
                stack.callback(self.prometheus.stop, s.stop_timeout)
                r.prometheus_url = self.prometheus.url
                self.say(f"Prometheus pid {self.prometheus.pid}: {r.prometheus_url}")
            self.reader = MetricsReader(r.metrics_url)
            self._story(stack, consumer)
            consumer.stop(s.stop_timeout)
            if consumer.returncode not in (0, None):
                r.failures.append(f"the consumer exited with code {consumer.returncode} "
                                  f"(log: {consumer.log_file})")
            self._collect()
        except (KeyboardInterrupt, Interrupted):
            r.interrupted = True
            r.failures.append("interrupted")
        except ProcessFailed as exc:
            r.failures.append(str(exc))
        finally:
            r.final = self.reader.last if self.reader is not None else r.final
            with deferred_signals():
                stack.close()
        return r

    # -- the phases ------------------------------------------------------------------------

    def _story(self, stack: ExitStack, consumer: ChildProcess) -> None:
        s, r = self.settings, self.result
        events = kafka_io.TopicProbe(r.bootstrap_servers, EVENTS_TOPIC, s.partitions)
        labels = kafka_io.TopicProbe(r.bootstrap_servers, LABELS_TOPIC, s.partitions)
        stack.callback(events.close)
        stack.callback(labels.close)
        self._started = time.monotonic()
        r.started_ms = time.time_ns() // 1_000_000
        for index, plan in enumerate(self.phases):
            starts, label_starts = events.end_offsets(), labels.end_offsets()
            producer = producer_process(
                s, r.bootstrap_servers, scenario=plan.scenario,
                run_id=plan.name.replace("-", "_"),
                seed=s.seed + index, labels=plan.labels, seconds=s.phase_length(index),
                log_file=s.logs_dir / f"producer-{plan.name}.log")
            stack.callback(producer.stop, s.stop_timeout)
            producer.start()
            self._watch_phase(index, plan, producer, consumer, events, sum(starts.values()))
            ends, label_ends = events.end_offsets(), labels.end_offsets()
            r.phases.append(PhaseRun(
                name=plan.name,
                onset_ms=kafka_io.first_timestamp(r.bootstrap_servers, EVENTS_TOPIC, starts,
                                                  ends),
                events=sum(ends.values()) - sum(starts.values()),
                events_before=sum(starts.values()),
                labels=sum(label_ends.values()) - sum(label_starts.values()),
                planned_seconds=round(s.phase_length(index), 2), exit_code=producer.returncode,
                expected=plan.expected))
            if producer.returncode != 0:
                raise ProcessFailed(f"producer[{plan.name}] exited with code "
                                    f"{producer.returncode} (log: {producer.log_file}):\n"
                                    f"{producer.log_tail()}")
        self._drain(consumer, sum(events.end_offsets().values()))

    def _state(self, phase: str, index: int, note: str, left: float | None) -> ViewState:
        assert self.reader is not None
        return ViewState(
            phase=phase, phase_index=index, phase_count=len(self.phases), phase_note=note,
            seconds_left=left, elapsed=time.monotonic() - self._started,
            metrics_url=self.result.metrics_url, prometheus_url=self.result.prometheus_url,
            status=self.reader.last)

    def _check(self, consumer: ChildProcess) -> None:
        if not consumer.is_running:
            raise ProcessFailed(f"the consumer died (exit code {consumer.returncode}); "
                                f"log: {consumer.log_file}\n{consumer.log_tail()}")
        if self.retrainer is not None and not self.retrainer.is_running:
            raise ProcessFailed(f"the retrainer died (exit code {self.retrainer.returncode}); "
                                f"log: {self.retrainer.log_file}\n{self.retrainer.log_tail()}")
        prom = self.prometheus
        if prom is not None and prom.pid is not None and not prom.is_running:
            self.result.failures.append(f"Prometheus exited early (log: {prom.log_file})")
            self.result.prometheus_url = None
            self.prometheus = None

    def _watch_phase(self, index: int, plan: PhasePlan, producer: ChildProcess,
                     consumer: ChildProcess, events: kafka_io.TopicProbe,
                     before: int) -> None:
        assert self.reader is not None
        onset: float | None = None
        while producer.is_running:
            self._check(consumer)
            self.reader.read()
            if onset is None and sum(events.end_offsets().values()) > before:
                onset = time.monotonic()
            if onset is None:
                phase, left = f"{plan.name} (starting the producer)", None
            else:
                left = max(self.settings.phase_length(index) - (time.monotonic() - onset),
                           0.0)
                phase = plan.name if left > 0 else f"{plan.name} (last labels, flushing)"
            self.view.update(self._state(phase, index + 1, plan.note, left))
            try:
                producer.wait(timeout=self.settings.refresh)
            except subprocess.TimeoutExpired:
                pass

    def _drain(self, consumer: ChildProcess, produced: int) -> None:
        """Wait until every event is consumed, then for one more drift evaluation."""
        assert self.reader is not None
        s = self.settings
        deadline = time.monotonic() + s.drain_timeout
        caught_up: float | None = None
        while time.monotonic() < deadline:
            self._check(consumer)
            status = self.reader.read()
            self.view.update(self._state("draining: the consumer catches up", 0, "", None))
            if status is not None and caught_up is None and status.consumed >= produced \
                    and not status.lag:
                caught_up = time.time()
            if caught_up is not None and (
                    status is None or status.last_evaluation is None
                    or status.last_evaluation > caught_up + 0.5
                    or time.time() > caught_up + 2 * s.drift_eval_interval + 2):
                break
            time.sleep(min(s.refresh, 0.5))
        else:
            self.result.failures.append(
                f"the consumer had not consumed all {produced} events after "
                f"{s.drain_timeout:g} s (log: {consumer.log_file})")
        self.view.update(self._state("done", 0, "", None), force=True)

    # -- results ---------------------------------------------------------------------------

    def _collect(self) -> None:
        r = self.result
        assert self.reader is not None
        r.final = self.reader.last
        r.final_lag = kafka_io.group_lag(r.bootstrap_servers, GROUP_ID, EVENTS_TOPIC,
                                         self.settings.partitions)
        for value in kafka_io.read_all(r.bootstrap_servers, DRIFT_REPORTS_TOPIC):
            try:
                record = orjson.loads(value)
            except orjson.JSONDecodeError:
                log.warning("skipping a drift report that is not JSON: %r", value[:80])
                continue
            if isinstance(record, dict) and record.get("group_id", GROUP_ID) == GROUP_ID:
                r.records.append(record)
        if not r.records:
            r.failures.append(f"no drift report was published on {DRIFT_REPORTS_TOPIC} "
                              "(does this consumer monitor drift?)")
        if self.settings.retrain:
            r.announcements = kafka_io.read_announcements(r.bootstrap_servers, MODELS_TOPIC)

    def facts(self) -> dict[str, Any]:
        """The summary's own numbers (the drift timings are added by `build_summary`)."""
        r, s, final = self.result, self.settings, self.result.final
        return {
            "ok": not r.failures,
            "failures": r.failures,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                        time.localtime(r.started_ms / 1000)),
            "story_seconds": round(time.monotonic() - self._started, 1),
            "settings": {"seconds": s.seconds, "phase_lengths": s.phase_lengths, "rate": s.rate,
                         "label_delay": s.label_delay,
                         "drift_eval_interval": s.drift_eval_interval, "retrain": s.retrain},
            "events_consumed": None if final is None else int(final.consumed),
            "predictions": None if final is None else int(final.predictions),
            "dlq": None if final is None else int(final.dlq),
            "final_lag": r.final_lag,
        }
