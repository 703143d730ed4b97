"""The fault scenarios. Each takes a started `Run` (topics, group, metrics watch) and returns its
`Result` after the audit; the registry at the bottom says which stream each one needs.

Kills use two methods: *targeted* ones set ``CONSUMER_FAULT=<point>:kill@<n>`` so the consumer
SIGKILLs itself at a named point of its n-th batch (inside an open transaction, between the
produce and the commit, ...); *random* ones SIGKILL it from outside at a random moment while it
works.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.chaos.runner import Result, Run

log = logging.getLogger(__name__)


def _rng(run: Run) -> random.Random:
    return random.Random(f"{run.opts.seed}-{run.scenario}-{run.guarantee}")


def sigkill(run: Run) -> Result:
    rng = _rng(run)
    targeted = ["in_transaction", "before_commit"] + ([] if run.opts.quick else ["after_commit"])
    plan: list[str | None] = [*targeted, *[None] * (1 if run.opts.quick else 3)]
    rng.shuffle(plan)
    run.start_stream()
    for point in plan:
        if point is not None:
            nth = rng.randint(2, 4)
            proc = run.consumer(env={"CONSUMER_FAULT": f"{point}:kill@{nth}"})
            code = proc.wait(timeout=300)
            run.fault(f"kill at {point} (batch {nth})")
            run.check(code == -9, f"{proc.name} with a {point} kill exited {code}, not -9")
        else:
            proc = run.consumer()
            # after a random amount of work (bounded, so the stream outlasts every fault), at
            # a moment that is random relative to the consumer's batch cycle
            run.wait_progress(rng.randint(200, 2000), alive=[proc])
            time.sleep(rng.uniform(0.0, 0.3))
            proc.kill()
            run.fault("kill at a random moment")
    last = run.consumer()
    run.drain([last])
    return run.finish()


def sigterm(run: Run) -> Result:
    rng = _rng(run)
    run.start_stream()
    for _ in range(2 if run.opts.quick else 4):
        proc = run.consumer()
        run.wait_progress(rng.randint(200, 2000), alive=[proc])
        time.sleep(rng.uniform(0.0, 0.3))
        code = proc.terminate()
        run.fault("SIGTERM")
        run.check(code == 0, f"{proc.name} exited {code} after SIGTERM")
    last = run.consumer()
    run.drain([last])
    return run.finish()


def rebalance(run: Run) -> Result:
    rng = _rng(run)
    first = run.ready(run.consumer())
    run.start_stream()
    run.wait_progress(1, alive=[first])
    joined = []
    for _ in range(2):
        time.sleep(rng.uniform(1.0, 3.0))
        run.fault("a consumer joins")
        joined.append(run.consumer(slot=len(joined) + 2))  # a replica of its own
        run.wait_until("the new member's first batch", lambda p=joined[-1]: "assigned" in
                       p.log_text() and p.served, 120, alive=[first, joined[-1]])
    for proc in joined:
        time.sleep(rng.uniform(1.0, 3.0))
        code = proc.terminate()
        run.fault("a consumer leaves")
        run.check(code == 0, f"{proc.name} exited {code} after SIGTERM")
    run.drain([first])
    return run.finish()


def broker_restart(run: Run) -> Result:
    """Stop the broker (SIGTERM, then SIGKILL the second time) under a working consumer, keep it
    away `down` seconds, start it again on the same ports and data dir. The harness acts as a
    process supervisor: a consumer that exits non-zero is started again (counted)."""
    broker = run.cluster.broker
    assert broker is not None, "broker-restart needs its own broker"
    down = 8.0 if run.opts.quick else 15.0
    proc = run.ready(run.consumer())
    run.start_stream()
    run.wait_progress(1, alive=[proc])
    rss: dict[str, list[float]] = {}
    for kind in ("clean", "SIGKILL"):
        proc = run.supervised_progress(proc, 1000)
        rss.setdefault("before_mb", []).append(_mb(proc.rss()))
        t0 = run.fault(f"broker stop ({kind})")
        broker.stop() if kind == "clean" else broker.kill()
        time.sleep(down)
        broker.start()
        broker.wait_ready(timeout=120)
        run.fault_over()
        peak = max((r for t, name, r in run.progress.rss if t >= t0 and name == proc.name),
                   default=0)
        rss.setdefault("peak_while_down_mb", []).append(_mb(peak))
        proc = run.supervised_progress(proc, 1, timeout=300)
        rss.setdefault("after_mb", []).append(_mb(proc.rss()))
    proc = run.supervised_drain(proc)
    result = run.finish()
    result.details["rss"] = rss
    growth = max(p - b for p, b in zip(rss["peak_while_down_mb"], rss["before_mb"], strict=True))
    result.details["rss_growth_while_down_mb"] = round(growth, 1)
    run.check(growth < 150, f"consumer RSS grew {growth:.0f} MB while the broker was away")
    return result


def poison(run: Run) -> Result:
    run.start_stream()
    proc = run.consumer()
    run.drain([proc])
    scrape = proc.scrape()
    result = run.finish()
    invalid = scrape.total("diamond_invalid_events_total") or 0.0
    result.details["invalid_events_total_metric"] = invalid
    result.faults_injected = result.poison_in  # every poison record is a fault
    run.check(invalid == result.poison_in, f"diamond_invalid_events_total {invalid} != "
              f"{result.poison_in} poison events")
    return result


SLOW_KAFKA = ["--kafka-config", "max.poll.interval.ms=6000", "--kafka-config",
              "session.timeout.ms=6000", "--kafka-config", "heartbeat.interval.ms=1000"]


def slow_model(run: Run) -> Result:
    """1 ms per event: an unbounded 10,000-event batch would take 10 s, beyond the 6 s
    max.poll.interval.ms; the consumer must size its batches to stay inside it."""
    run.start_stream()
    run.fault("1 ms/event scoring delay, max.poll.interval.ms=6000, --batch-size 10000")
    proc = run.consumer("--batch-size", "10000", *SLOW_KAFKA,
                        env={"CONSUMER_FAULT": "before_produce:sleep_per_event=0.001"})
    run.drain([proc], timeout=900)
    scrape = proc.scrape()
    result = run.finish()
    text = proc.log_text()
    kicked = text.count("Application maximum poll interval")
    assigned = text.count(" assigned ")
    retries = scrape.value("diamond_batch_retries_total") or 0
    aborted = scrape.value("diamond_transactions_aborted_total") or 0
    result.details.update({"poll_interval_exceeded": kicked, "assignments": assigned,
                           "batch_retries": retries, "transactions_aborted": aborted})
    run.check(kicked == 0, f"max.poll.interval.ms exceeded {kicked} times")
    run.check(assigned == 1, f"{assigned} assignments: the consumer left or lost the group")
    run.check(retries == 0, f"{retries} batches retried")
    return result


def output_down(run: Run) -> Result:
    """An ACL denies the consumer's writes to the output topic until the consumer has reported
    it (log + metrics) and its committed offsets stood still for a while; then the ACL is
    removed and the consumer (restarted if it gave up meanwhile) finishes the stream.

    (Not `max.message.bytes=1`: that also refuses the broker's own transaction markers, which
    leaves a hanging transaction that blocks read_committed readers for good.)"""
    proc = run.ready(run.consumer())
    run.start_stream()
    run.wait_progress(2000, alive=[proc])
    started = run.fault("output topic unwritable (DENY WRITE ACL)")
    run.cluster.deny_write(run.output)
    failures = retries = 0.0
    reported_at: float | None = None
    frozen = moved = None
    try:
        deadline = time.monotonic() + (150 if run.opts.quick else 240)
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                scrape = proc.scrape()
                failures = scrape.value("diamond_delivery_failures_total") or 0
                retries = scrape.value("diamond_batch_retries_total") or 0
            except OSError:
                pass
            if reported_at is None and (failures or retries) and "NOT committed" in \
                    proc.log_text():
                reported_at, frozen = time.monotonic(), run.committed_total()
            if reported_at is not None and time.monotonic() - reported_at > 10:
                break
            time.sleep(0.5)
        if reported_at is not None:
            moved = run.committed_total()
    finally:
        run.cluster.deny_write(run.output, deny=False)
        run.fault_over()
    run.check(reported_at is not None, "the failure was not reported (metrics + log)")
    run.check(frozen is not None and moved == frozen,
              f"committed offsets moved while the output was unwritable ({frozen} -> {moved})")
    code = proc.poll()  # None: still retrying; 1: gave up (restarted by the supervisor)
    proc = run.supervised_drain(proc)
    result = run.finish()
    result.details.update({
        "delivery_failures_metric": failures, "batch_retries_metric": retries,
        "seconds_to_report": None if reported_at is None else round(
            reported_at - started, 1),
        "exit_code_during_outage": code,
        "resumed_without_restart": code is None and not run.restarts,
    })
    return result


def _mb(value: float | None) -> float:
    return round((value or 0) / 1024**2, 1)


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Run], Result]
    poison: bool = False
    stream_seconds: float | None = None  # spread the stream over this long (None: at once)
    secure: bool = False  # a broker with SASL + ACLs (see tests.chaos.cluster)
    exact: bool = False  # zero duplicates in both modes (graceful stops only)
    events: int | None = None  # overrides --events


SCENARIOS: dict[str, Scenario] = {
    "sigkill": Scenario(sigkill),
    "sigterm": Scenario(sigterm, exact=True),
    "broker-restart": Scenario(broker_restart, stream_seconds=75),
    "rebalance": Scenario(rebalance, stream_seconds=75, exact=True),
    "poison": Scenario(poison, poison=True, exact=True),
    "slow-model": Scenario(slow_model, exact=True),
    "output-down": Scenario(output_down, stream_seconds=75, secure=True),
}
