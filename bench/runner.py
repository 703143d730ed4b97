"""Run the selected cases on one broker, one data set and one model; build the record."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from bench import inprocess
from bench.broker import bench_broker
from bench.env import machine_facts
from bench.exceptions import CaseError
from bench.latency import Point, run_latency_points
from bench.process import ConsumerProcess, consumer_args
from bench.profiling import profile_call
from bench.report import empty_record, evaluate
from bench.settings import BenchSettings, Plan
from bench.topics import Topics, fill, unique
from common.contracts.models import Announcement, encode_announcement
from consumer import ConsumerSettings
from model.artifact import load_artifact
from producer.events import EventBatch, EventGenerator, load_test_rows

log = logging.getLogger(__name__)

FIELDS = ConsumerSettings.model_fields
DEFAULT_GUARANTEE = str(FIELDS["guarantee"].default)
DEFAULT_BATCH_SIZE = int(FIELDS["batch_size"].default)
HAS_DRIFT = "drift_enabled" in FIELDS
HAS_MODELS = "models_topic" in FIELDS


class Bench:
    """State shared by the cases of one run (broker, topics, data, model, record)."""

    def __init__(self, settings: BenchSettings, bootstrap: str, topics: Topics,
                 work_dir: Path) -> None:
        self.s = settings
        self.plan: Plan = settings.plan()
        self.bootstrap = bootstrap
        self.topics = topics
        self.work_dir = work_dir
        self.model = load_artifact(settings.model_path)
        self.batch_size = settings.batch_size or DEFAULT_BATCH_SIZE
        self.max_event_bytes = int(FIELDS["max_event_bytes"].default)
        self.record: dict[str, Any] = empty_record()
        self.details: dict[str, Any] = {}
        self.notes: list[str] = []
        self.input_topic = ""
        self.labels_topic = ""
        self.reports_topic = ""
        self.scale_labels_topic = ""
        self.cores = os.cpu_count()
        self.data = self.generate(self.plan.events)

    def generate(self, events: int) -> EventBatch:
        """The first `events` events of the seeded stream (the same in every run)."""
        return EventGenerator(load_test_rows(), seed=self.s.seed, run_id="bench").take(events)

    # -- shared setup --------------------------------------------------------------------------
    def prepare_topics(self, fill_input: bool) -> None:
        p = self.s.partitions
        if HAS_DRIFT:  # the label join stays on (the default) but no labels are produced
            self.labels_topic = self.topics.create("labels", p)
            self.reports_topic = self.topics.create("drift-reports", 1)
        if fill_input:
            self.input_topic = self.topics.create("in", p)
            seconds = fill(self.bootstrap, self.input_topic, self.data.keys, self.data.values)
            self.details["fill_seconds"] = round(seconds, 2)

    def drift_settings(self, drift: bool | None, labels_topic: str | None = None
                       ) -> dict[str, Any]:
        """Drift and label-join settings (when the consumer has them): `drift` None keeps the
        default; the label join reads `labels_topic` (default: the run's empty labels topic)."""
        if not HAS_DRIFT:
            return {}
        values: dict[str, Any] = {"labels_topic": labels_topic or self.labels_topic}
        if "drift_reports_topic" in FIELDS:
            values["drift_reports_topic"] = self.reports_topic
        if drift is not None:
            values["drift_enabled"] = drift
        return values

    def drift_args(self, drift: bool | None = None, labels_topic: str | None = None
                   ) -> list[str]:
        """The same as `python -m consumer` flags."""
        args: list[str] = []
        for key, value in self.drift_settings(drift, labels_topic).items():
            flag = key.replace("_", "-")
            if isinstance(value, bool):
                args.append(f"--{flag}" if value else f"--no-{flag}")
            else:
                args += [f"--{flag}", str(value)]
        return args

    # -- cases ---------------------------------------------------------------------------------
    def ceiling(self) -> None:
        eps = inprocess.ceiling(self.data.keys, self.data.values, self.model, self.batch_size,
                                self.max_event_bytes)
        self.record["ceiling_eps"] = round(eps)

    def e2e_once(self, guarantee: str | None, drift: bool | None, shadow: bool = False
                 ) -> inprocess.E2EResult:
        """One run; `shadow`: with the model itself announced as challenger first, so that
        every batch is also shadow-scored (the cost of champion vs challenger)."""
        out, dlq = self.topics.outputs("e2e", self.s.partitions)
        # a fresh models topic per run: the broker's own announcements never reach a bench run
        models = [self.topics.create("models", 1)] if HAS_MODELS else []
        if shadow and models:
            announce_challenger(self.bootstrap, models[0], self.s.model_path, self.model.metadata)
        values: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap, "input_topic": self.input_topic,
            "output_topic": out, "dlq_topic": dlq, "group_id": unique("e2e"),
            "model_path": self.s.model_path, "metrics_port": 0, "metrics_addr": "127.0.0.1",
            "max_events": self.plan.events, "batch_size": self.batch_size,
            **self.drift_settings(drift),
            **({"models_topic": models[0]} if models else {}),
        }
        if guarantee is not None:
            values["guarantee"] = guarantee
        try:
            return inprocess.e2e(ConsumerSettings(**values), self.model, self.plan.events)
        finally:
            self.topics.delete([out, dlq, *models])

    def profile_e2e(self) -> None:
        """One e2e run at the default settings under the profiler, before (and apart from)
        the measured rounds."""
        if not self.input_topic:
            raise CaseError("--profile needs a throughput case (e2e, guarantees or drift_off)")
        path = profile_call(lambda: self.e2e_once(None, None), self.s.output.parent)
        self.details["profile"] = str(path)

    def e2e_rounds(self, cases: list[str]) -> None:
        configs: dict[str, tuple[str | None, bool | None, bool]] = {}
        if "e2e" in cases or "guarantees" in cases or "shadow" in cases:
            configs["e2e_eps"] = (None, None, False)
        if "guarantees" in cases:
            configs["e2e_at_least_once_eps"] = ("at-least-once", None, False)
            if DEFAULT_GUARANTEE != "exactly-once":
                configs["e2e_exactly_once_eps"] = ("exactly-once", None, False)
        if "drift_off" in cases:
            if HAS_DRIFT:
                configs["drift_off_eps"] = (None, False, False)
            else:
                self.notes.append("drift_off: ConsumerSettings has no drift_enabled yet")
        if "shadow" in cases:
            if HAS_MODELS:
                configs["shadow_eps"] = (None, None, True)
            else:
                self.notes.append("shadow: ConsumerSettings has no models_topic yet")
        samples: dict[str, list[float]] = {k: [] for k in configs}
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in configs}
        for round_ in range(self.plan.repeats):  # interleaved: noise hits every case alike
            for key, (guarantee, drift, shadow) in configs.items():
                result = self.e2e_once(guarantee, drift, shadow)
                samples[key].append(result.eps)
                runs[key].append({"eps": round(result.eps), "seconds": round(result.seconds, 2),
                                  "batches": result.batches, "retries": result.retries,
                                  "scoring_s": round(result.scoring_seconds, 3),
                                  "shadow_s": round(result.shadow_seconds, 3),
                                  "shadow_batches": result.shadow_batches})
                log.info("round %d %s: %.0f ev/s", round_ + 1, key, result.eps)
        for key, values in samples.items():
            self.record[key] = round(statistics.median(values))
        if "shadow_eps" in runs:  # one more predict per batch: the shadow's over the champion's
            shadow_runs = runs["shadow_eps"]
            self.record["shadow_predict_ratio"] = round(statistics.median(
                [r["shadow_s"] / r["scoring_s"] for r in shadow_runs if r["scoring_s"]]), 3)
            self.details["shadow_batch_share"] = round(statistics.median(
                [r["shadow_batches"] / r["batches"] for r in shadow_runs if r["batches"]]), 3)
        if "guarantees" in cases and DEFAULT_GUARANTEE == "exactly-once":
            self.record["e2e_exactly_once_eps"] = self.record["e2e_eps"]
            self.notes.append("e2e_exactly_once_eps is the e2e run: exactly-once is the default")
        self.details["e2e_runs"] = runs

    def naive(self) -> None:
        out = self.topics.create("naive.out", self.s.partitions)
        try:
            eps = inprocess.naive(self.bootstrap, self.input_topic, out, unique("naive"),
                                  self.model, self.plan.naive_events, self.max_event_bytes)
        finally:
            self.topics.delete([out])
        self.record["naive_eps"] = round(eps, 1)

    def process(self) -> None:
        out, dlq = self.topics.outputs("process", self.s.partitions)
        extra = ["--max-events", str(self.plan.events), "--batch-size", str(self.batch_size),
                 *self.drift_args()]
        args = consumer_args(self.bootstrap, self.input_topic, out, dlq, unique("process"),
                             self.s.model_path, extra)
        consumer = ConsumerProcess(args, self.work_dir / "process-consumer.log").start()
        try:
            consumer.wait_ready()
            code = consumer.wait(timeout=600)
        finally:
            consumer.stop()
            self.topics.delete([out, dlq])
        if code != 0:
            raise CaseError(f"consumer process exited with {code}: {consumer.tail()}")
        self.details["process"] = {"startup_s": round(consumer.startup_s or 0, 2),
                                   "max_rss_mb": round(consumer.max_rss_mb or 0, 1),
                                   "sampled_rss_mb": round(consumer.sampled_rss_mb, 1)}
        self._memory(consumer.max_rss_mb, consumer.startup_s)

    def latency(self) -> None:
        """The producer's defaults (events only) at a steady rate; then, when the consumer joins
        labels, again with the producer sending each event's label too (a detail)."""
        rate = self.plan.latency_rate
        points = [Point(rate, False), *([Point(rate, True)] if HAS_DRIFT else [])]
        # --quick: both runs on one consumer (its start costs more than a run); the full run
        # starts one for each
        for group in [points] if self.s.quick else [[p] for p in points]:
            results = run_latency_points(
                self.bootstrap, self.topics, self.s.model_path, points=group,
                seconds=self.plan.latency_seconds, warmup=self.plan.latency_warmup,
                partitions=self.s.partitions, batch_size=self.batch_size,
                drift_args=self.drift_args if HAS_DRIFT else None, work_dir=self.work_dir,
                name="latency-labels" if group == [Point(rate, True)] else "latency",
            )
            for result in results:
                if not result.labels:
                    self.record["latency_ms"] = result.latency_ms
                self.details["latency_with_labels" if result.labels else "latency"] = {
                    "measured_from": "read_committed reader: receive time - event_time",
                    "latency_ms": result.latency_ms,
                    "latency_produce_ms": result.latency_produce_ms,
                    "consumer_histogram_ms": result.consumer_histogram_ms,
                    "rate": result.rate, "seconds": self.plan.latency_seconds,
                    "warmup_s": self.plan.latency_warmup, "sent": result.sent,
                    "received": result.received, "measured": result.measured,
                    "labels": result.labels, "startup_s": round(result.startup_s or 0, 2),
                    "max_rss_mb": round(result.max_rss_mb or 0, 1),
                    "sampled_rss_mb": result.sampled_rss_mb,
                }
            self._memory(results[0].max_rss_mb, results[0].startup_s)

    def latency_curve(self) -> None:
        """p50/p95/p99 at each rate of the plan, in both guarantees (drift on, events only),
        beside the throughput at saturation (the e2e cases, when they ran)."""
        warmup = min(self.plan.latency_warmup, self.plan.curve_seconds / 5)
        curve: dict[str, Any] = {"seconds": self.plan.curve_seconds, "warmup_s": warmup}
        # --quick: every rate on one consumer per guarantee (its start costs more than a
        # point); the full run starts a fresh consumer for each point
        per_consumer = len(self.plan.curve_rates) if self.s.quick else 1
        floor: dict[str, Any] = {}
        for guarantee in ("exactly-once", "at-least-once"):
            floor[guarantee] = self._floor_point(guarantee, warmup)
            rows = []
            rates = self.plan.curve_rates
            for first in range(0, len(rates), per_consumer):
                results = run_latency_points(
                    self.bootstrap, self.topics, self.s.model_path,
                    points=[Point(r) for r in rates[first:first + per_consumer]],
                    seconds=self.plan.curve_seconds, warmup=warmup,
                    partitions=self.s.partitions, batch_size=self.batch_size,
                    drift_args=self.drift_args if HAS_DRIFT else None,
                    work_dir=self.work_dir, guarantee=guarantee,
                    name=f"curve-{guarantee}-{rates[first]:g}",
                )
                for result in results:
                    rows.append({"rate": result.rate, "sent_rate": round(result.sent_rate),
                                 **result.latency_ms, "measured": result.measured})
                    log.info("latency curve %s at %g ev/s (sent %.0f/s): %s", guarantee,
                             result.rate, result.sent_rate, result.latency_ms)
                self._memory(results[0].max_rss_mb, results[0].startup_s)
            curve[guarantee] = rows
        curve["floor"] = floor
        curve["saturation_eps"] = {
            "exactly-once": self.record.get("e2e_exactly_once_eps") or (
                self.record.get("e2e_eps") if DEFAULT_GUARANTEE == "exactly-once" else None),
            "at-least-once": self.record.get("e2e_at_least_once_eps"),
        }
        self.record["latency_curve"] = curve

    def _floor_point(self, guarantee: str, warmup: float) -> dict[str, Any] | None:
        """The bare client (`bench.echo`: the service's Kafka clients and flags, no work) at
        the latency rate, just before the service's points: what the broker and this machine
        give any client, so the curve reads against it. None (logged) when it failed: the
        service's curve is still measured."""
        try:
            result = run_latency_points(
                self.bootstrap, self.topics, self.s.model_path,
                points=[Point(self.plan.latency_rate)], seconds=self.plan.curve_seconds,
                warmup=warmup, partitions=self.s.partitions, batch_size=self.batch_size,
                drift_args=None, work_dir=self.work_dir, guarantee=guarantee,
                name=f"floor-{guarantee}", bare=True,
            )[0]
        except CaseError as exc:
            log.error("latency floor (bare client) %s failed: %s", guarantee, exc)
            return None
        log.info("latency floor (bare client) %s at %g ev/s: %s", guarantee, result.rate,
                 result.latency_ms)
        return {"rate": result.rate, "sent_rate": round(result.sent_rate), **result.latency_ms,
                "measured": result.measured}

    def _memory(self, rss: float | None, startup: float | None) -> None:
        if rss is not None:
            self.record["rss_mb"] = round(max(rss, self.record["rss_mb"] or 0), 1)
        if startup is not None:
            starts = self.details.setdefault("startup_samples_s", [])
            starts.append(round(startup, 2))
            self.record["startup_s"] = round(statistics.median(starts), 2)


def announce_challenger(
    bootstrap: str, topic: str, model_path: Path, metadata: dict[str, Any]
) -> None:
    key, value = encode_announcement(Announcement(
        "challenger", "v0001", metadata["sha256"], str(Path(model_path).resolve()),
        "bench: shadow cost", int(time.time() * 1000), metadata.get("loss_model_sha256"),
    ))
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=key, value=value)
    if producer.flush(10):
        raise CaseError(f"could not announce the challenger on {topic}")


def run_bench(settings: BenchSettings) -> dict[str, Any]:
    cases = list(settings.cases)
    started = time.monotonic()
    with bench_broker(settings.bootstrap_servers) as (bootstrap, kafka_version), \
            tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        topics = Topics(bootstrap)
        try:
            bench = Bench(settings, bootstrap, topics, Path(tmp))
            machine = machine_facts(kafka_version)
            bench.prepare_topics(
                fill_input=bool({"e2e", "guarantees", "drift_off", "shadow", "naive", "process"}
                               & set(cases))
            )
            if "ceiling" in cases:
                bench.ceiling()
            if settings.profile:
                bench.profile_e2e()
            bench.e2e_rounds(cases)
            if "naive" in cases:
                bench.naive()
            if "process" in cases:
                bench.process()
            if "latency" in cases:
                bench.latency()
            if "latency_curve" in cases:
                bench.latency_curve()
            if "scale" in cases:
                from bench.scale import run_scale

                bench.details["scale"] = run_scale(bench)
        finally:
            topics.close()
        machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    record = bench.record
    record["model"] = settings.model or bench.model.model_type
    record["model_version"] = bench.model.version
    record["checks"] = evaluate(record)
    record["settings"] = {
        "cases": cases, "events": bench.plan.events, "repeats": bench.plan.repeats,
        "batch_size": bench.batch_size, "partitions": settings.partitions,
        "guarantee_default": DEFAULT_GUARANTEE, "drift_default": HAS_DRIFT,
        "naive_events": bench.plan.naive_events, "model_path": str(settings.model_path),
        "quick": settings.quick,
    }
    record["machine"] = machine
    record["date"] = machine["date"]
    record["scale"] = bench.details.get("scale")
    record["details"] = bench.details
    record["notes"] = bench.notes
    if "drift_delays" in cases:  # pure statistics, no broker
        from bench.drift_delays import run_drift_delays

        record["drift_delays"] = run_drift_delays(seed=settings.seed, quick=settings.quick)
    if "performance_estimation" in cases:  # pure statistics, no broker
        from bench.performance_estimation import run_performance_estimation

        record["performance_estimation"] = run_performance_estimation(
            seed=settings.seed, quick=settings.quick
        )
    record["total_seconds"] = round(time.monotonic() - started, 1)
    return record
