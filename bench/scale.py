"""Scale-out: `python -m bench.scale` (or `python -m bench --cases scale`).

1. Throughput with 1, 2 and 3 `python -m consumer` processes in one group on a pre-filled
   6-partition topic. Progress is the group's committed offsets, read every 0.25 s; the rate is
   taken between 10 % and 90 % of the events committed, so process startup and the first
   rebalance are left out. On a 2-core machine that also runs the broker, more processes cannot
   add cores: this shows the cost of the group, not a speed-up.
2. Correctness while instances join and leave: the producer sends at a steady rate while
   consumers start and stop (SIGTERM) on a schedule; afterwards every input event must have a
   prediction (no loss) and, in exactly-once, exactly one (no duplicate), read with
   read_committed. At-least-once runs the same schedule: duplicates are allowed and counted.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson
from confluent_kafka import KafkaException, Message

from bench.exceptions import CaseError
from bench.process import REPO, ConsumerProcess, child_env, consumer_args, stop_all
from bench.topics import fill, unique
from common.kafka import GroupOffsets as SharedGroupOffsets
from common.kafka import KafkaToolkitError, read_to_end
from infra.process import ChildProcess

if TYPE_CHECKING:
    from bench.runner import Bench

log = logging.getLogger(__name__)

PARTITIONS = 6
CHURN_RATE = 3000.0
# (seconds after the start, action, instance): the membership changes of the churn run.
CHURN_SCHEDULE: tuple[tuple[float, str, str], ...] = (
    (0.0, "start", "a"), (5.0, "start", "b"), (10.0, "start", "c"), (15.0, "stop", "b"),
    (20.0, "start", "d"), (25.0, "stop", "a"),
)
CHURN_SECONDS = 30.0


class GroupOffsets:
    """How far a group has committed on one topic, read by `common.kafka.GroupOffsets` (a
    consumer of the group that never subscribes); 0 while the group has no coordinator yet."""

    def __init__(self, bootstrap_servers: str, group: str, topic: str, partitions: int) -> None:
        self.offsets = SharedGroupOffsets(bootstrap_servers, group)
        self.topic = topic
        self.partitions = partitions

    def total(self) -> int:
        try:
            return self.offsets.total(self.topic, self.partitions, timeout=5)
        except KafkaException as exc:
            log.debug("committed offsets unavailable: %s", exc)
            return 0

    def close(self) -> None:
        self.offsets.close()


def throughput(bench: Bench, topic: str, events: int, instances: int) -> dict[str, Any]:
    out, dlq = bench.topics.outputs(f"scale{instances}", PARTITIONS)
    group = unique(f"scale{instances}")
    args = consumer_args(bench.bootstrap, topic, out, dlq, group, bench.s.model_path,
                         ["--batch-size", str(bench.batch_size),
                          *bench.drift_args(labels_topic=bench.scale_labels_topic)])
    procs = [ConsumerProcess(args, bench.work_dir / f"scale{instances}-{i}.log")
             for i in range(instances)]
    offsets = GroupOffsets(bench.bootstrap, group, topic, PARTITIONS)
    samples: list[tuple[float, int]] = []
    try:
        for proc in procs:
            proc.start()
        deadline = time.monotonic() + 600
        done = 0
        while done < events:
            if time.monotonic() > deadline:
                raise CaseError(f"scale x{instances}: {done} of {events} committed in 600 s")
            for proc in procs:
                if proc.poll() is not None:
                    raise CaseError(f"scale x{instances}: a consumer exited: {proc.tail()}")
            done = offsets.total()
            samples.append((time.monotonic(), done))
            time.sleep(0.25)
    finally:
        codes = stop_all(procs)
        offsets.close()
        bench.topics.delete([out, dlq])
    if any(codes):
        raise CaseError(f"scale x{instances}: exit codes {codes}")
    low, high = _crossing(samples, 0.1 * events), _crossing(samples, 0.9 * events)
    eps = 0.8 * events / (high - low) if high > low else float("nan")
    return {"instances": instances, "eps": round(eps), "events": events,
            "peak_rss_mb": [round(p.max_rss_mb or 0, 1) for p in procs]}


def _crossing(samples: list[tuple[float, int]], level: float) -> float:
    """When the committed count reached `level` (linear between two samples)."""
    previous = samples[0]
    for sample in samples:
        if sample[1] >= level:
            (t0, c0), (t1, c1) = previous, sample
            return t1 if c1 == c0 else t0 + (t1 - t0) * (level - c0) / (c1 - c0)
        previous = sample
    return samples[-1][0]


def churn(bench: Bench, guarantee: str, seconds: float = CHURN_SECONDS) -> dict[str, Any]:
    """Consumers join and leave while the producer sends; then audit the outputs. `seconds`
    stretches or shrinks the schedule (it is written for `CHURN_SECONDS`)."""
    stretch = seconds / CHURN_SECONDS
    run_id = "churn_eos" if guarantee == "exactly-once" else "churn_alo"
    topic = bench.topics.create(f"churn.{guarantee}", PARTITIONS)
    out, dlq = bench.topics.outputs(f"churn.{guarantee}", PARTITIONS)
    group = unique("churn")
    args = consumer_args(bench.bootstrap, topic, out, dlq, group, bench.s.model_path,
                         ["--guarantee", guarantee, "--batch-size", str(bench.batch_size),
                          *bench.drift_args(labels_topic=bench.scale_labels_topic)])
    procs: dict[str, ConsumerProcess] = {}
    events: list[str] = []
    producer = ChildProcess(
        "churn-producer",
        [sys.executable, "-m", "producer", "--bootstrap-servers", bench.bootstrap,
         "--topic", topic, "--rate", str(CHURN_RATE), "--duration", str(seconds),
         "--no-create-topics", "--run-id", run_id, "--seed", "3"],
        log_file=bench.work_dir / f"churn-{guarantee}-producer.log", cwd=REPO,
        env=child_env(LOG_LEVEL="WARNING"))
    producer.start()
    started = time.monotonic()
    offsets = GroupOffsets(bench.bootstrap, group, topic, PARTITIONS)
    try:
        for at, action, name in CHURN_SCHEDULE:
            time.sleep(max(0.0, started + at * stretch - time.monotonic()))
            if action == "start":
                procs[name] = ConsumerProcess(
                    args, bench.work_dir / f"churn-{guarantee}-{name}.log").start()
            else:  # a graceful leave: SIGTERM once it runs (before, SIGTERM just kills it)
                procs[name].wait_ready()
                procs[name].stop()
            events.append(f"{time.monotonic() - started:5.1f}s {action} {name}")
        code = producer.wait(timeout=seconds + 120)
        text = producer.log_text()  # its summary line (stdout) and its log (stderr)
        if code != 0:
            raise CaseError(f"churn producer exited with {code}: {text[-1300:]}")
        sent = _sent(text)
        deadline = time.monotonic() + 180
        while offsets.total() < sent:
            if time.monotonic() > deadline:
                raise CaseError(f"churn {guarantee}: not every event committed in 180 s")
            time.sleep(0.5)
    finally:
        producer.kill()  # a no-op once it exited
        codes = dict(zip(procs, stop_all(list(procs.values())), strict=True))
        offsets.close()
    counts = Counter(_event_ids(bench.bootstrap, out))
    expected = {f"{run_id}-{i}" for i in range(sent)}
    missing = len(expected - set(counts))
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    dead = len(_event_ids(bench.bootstrap, dlq, raw=True))
    bench.topics.delete([topic, out, dlq])
    ok = missing == 0 and dead == 0 and (guarantee != "exactly-once" or duplicates == 0)
    return {"guarantee": guarantee, "sent": sent, "predictions": sum(counts.values()),
            "missing": missing, "duplicates": duplicates, "dead_lettered": dead,
            "exit_codes": codes, "schedule": events, "pass": ok}


def _sent(text: str) -> int:
    match = re.search(r"run \S+: sent=(\d+)", text)  # the summary line, not a log line
    if match is None:
        raise CaseError(f"the churn producer reported nothing: {text[-300:]}")
    return int(match.group(1))


def _event_ids(bootstrap: str, topic: str, raw: bool = False, timeout: float = 60) -> list[str]:
    """Every committed record of `topic` (read_committed): the event_id of each prediction."""

    def event_id(msg: Message) -> str:
        return "" if raw else orjson.loads(msg.value() or b"{}")["event_id"]

    try:
        return read_to_end(bootstrap, topic, timeout=timeout, decode=event_id)
    except KafkaToolkitError as exc:
        raise CaseError(f"could not read {topic} to its end: {exc}") from exc


def run_scale(bench: Bench) -> dict[str, Any]:
    events = bench.plan.scale_events
    bench.scale_labels_topic = bench.topics.create("scale.labels", PARTITIONS)
    topic = bench.topics.create("scale.in", PARTITIONS)
    data = bench.data if len(bench.data) >= events else bench.generate(events)
    fill(bench.bootstrap, topic, data.keys[:events], data.values[:events])
    table = [throughput(bench, topic, events, k) for k in (1, 2, 3)]
    for row in table:
        log.info("scale x%d: %s ev/s", row["instances"], row["eps"])
    bench.topics.delete([topic])
    seconds = 12.0 if bench.s.quick else CHURN_SECONDS
    checks = [churn(bench, g, seconds) for g in ("exactly-once", "at-least-once")]
    return {"partitions": PARTITIONS, "throughput": table, "churn": checks,
            "cores": bench.cores}


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.scale [bench options]`: the scale case alone, into results/scale.json."""
    from bench.__main__ import main as bench_main
    from bench.settings import RESULTS_DIR

    args = list(sys.argv[1:] if argv is None else argv)
    if "--output" not in args:
        args += ["--output", str(RESULTS_DIR / "scale.json")]
    return bench_main(["--cases", "scale", *args])


if __name__ == "__main__":
    sys.exit(main())
