"""Soak: the real producer (`python -m producer`, with late labels) at a steady rate for
`soak_seconds`, one consumer in exactly-once mode, and every `SAMPLE_EVERY` seconds its RSS and
its lag (from /metrics and, independently, end offsets minus the group's committed offsets).

Flat means: after the warm-up (the first `WARMUP` of the run) the least-squares slope of the
consumer's RSS stays under `MAX_RSS_SLOPE_MB_MIN` and the lag neither trends up
(`MAX_LAG_SLOPE_MIN`) nor exceeds `MAX_LAG_SECONDS` of traffic.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from pathlib import Path

import psutil

from infra.process import ChildProcess
from tests.chaos.proc import ConsumerProc
from tests.chaos.reaper import die_with_parent
from tests.chaos.runner import Result, Run

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]

SAMPLE_EVERY = 5.0
WARMUP = 0.2
MAX_RSS_SLOPE_MB_MIN = 1.0
MAX_LAG_SLOPE_MIN = 200.0
MAX_LAG_SECONDS = 10.0


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, in value units per minute."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    cov = sum((t - mx) * (v - my) for t, v in points)
    return 60.0 * cov / var if var else 0.0


def soak(run: Run) -> Result:
    opts = run.opts
    labels = run.labels
    producer_log = run.logdir / "producer.log"
    cmd = [sys.executable, "-m", "producer", "--bootstrap-servers", run.cluster.bootstrap_servers,
           "--topic", run.input, "--rate", f"{opts.soak_rate:g}",
           "--duration", f"{opts.soak_seconds:g}", "--no-create-topics", "--seed", str(opts.seed),
           "--labels", "--labels-topic", labels, "--label-delay", "5"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCER_")}
    consumer = run.consumer(name="soak-consumer")
    run.wait_until("the consumer serving /metrics", lambda: consumer.served, 120, [consumer])
    producer = ChildProcess("soak-producer", cmd, log_file=producer_log, cwd=REPO, env=env,
                            preexec_fn=die_with_parent)
    producer.start()
    producer_pid = producer.pid
    assert producer_pid is not None
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    try:
        while producer.poll() is None:
            time.sleep(SAMPLE_EVERY)
            if producer.poll() is not None:
                break  # sample a steady rate only
            samples.append(_sample(run, consumer, producer_pid, time.monotonic() - started))
            if consumer.poll() is not None:
                raise RuntimeError(f"the soak consumer exited {consumer.returncode}")
    finally:
        if producer.poll() is None:
            code = producer.stop(timeout=120)
        else:
            code = producer.wait()
    run.check(code == 0, f"the producer exited {code}")
    text = producer.log_text()
    sent = [int(m) for m in re.findall(r"ok: run \S+: sent=(\d+) delivered=\1", text)]
    run.check(bool(sent), "the producer did not report every event delivered")
    expected = sent[-1] if sent else -1
    run.expected_in = run.expected_valid = expected
    end = sum(run.cluster.end_offsets(run.input).values())
    run.wait_committed(end, 600, [consumer])
    result = run.finish()
    result.details.update(_verdict(run, samples))
    return result


def _sample(run: Run, consumer: ConsumerProc, producer_pid: int, t: float) -> dict[str, float]:
    sample: dict[str, float] = {"t": round(t, 1), "rss_mb": (consumer.rss() or 0) / 1024**2}
    try:
        sample["producer_rss_mb"] = psutil.Process(producer_pid).memory_info().rss / 1024**2
    except psutil.Error:
        pass
    try:
        lag = consumer.scrape().value("diamond_consumer_lag_total")
        sample["lag_metric"] = lag or 0.0
    except (OSError, ValueError) as exc:
        run.watch.record_failure(consumer, f"{consumer.name}: {exc}")
    try:
        ends = run.cluster.end_offsets(run.input)
        committed = run.cluster.committed(run.group, run.input)
        sample["lag"] = float(sum(ends.values()) - sum(committed.values()))
    except Exception as exc:  # noqa: BLE001 - reported in the sample
        log.warning("lag sample failed: %s", exc)
    return sample


def _verdict(run: Run, samples: list[dict[str, float]]) -> dict[str, object]:
    if not samples:
        run.check(False, "no soak samples")
        return {}
    cut = samples[-1]["t"] * WARMUP
    steady = [s for s in samples if s["t"] >= cut]
    rss = [(s["t"], s["rss_mb"]) for s in steady]
    lag = [(s["t"], s["lag"]) for s in steady if "lag" in s]
    prod = [(s["t"], s["producer_rss_mb"]) for s in steady if "producer_rss_mb" in s]
    rss_slope, lag_slope = slope_per_minute(rss), slope_per_minute(lag)
    lag_max = max((v for _, v in lag), default=0.0)
    rate = run.opts.soak_rate
    run.check(rss_slope < MAX_RSS_SLOPE_MB_MIN,
              f"consumer RSS slope {rss_slope:.2f} MB/min >= {MAX_RSS_SLOPE_MB_MIN}")
    run.check(lag_slope < MAX_LAG_SLOPE_MIN,
              f"lag slope {lag_slope:.0f} events/min >= {MAX_LAG_SLOPE_MIN}")
    run.check(lag_max < MAX_LAG_SECONDS * rate,
              f"lag reached {lag_max:.0f} events (> {MAX_LAG_SECONDS:g} s of traffic)")
    every = max(1, len(samples) // 40)
    return {
        "seconds": samples[-1]["t"], "rate": rate,
        "rss_start_mb": round(samples[0]["rss_mb"], 1),
        "rss_steady_start_mb": round(rss[0][1], 1), "rss_end_mb": round(samples[-1]["rss_mb"], 1),
        "rss_max_mb": round(max(s["rss_mb"] for s in samples), 1),
        "rss_slope_mb_per_min": round(rss_slope, 3),
        "producer_rss_slope_mb_per_min": round(slope_per_minute(prod), 3),
        "lag_mean": round(sum(v for _, v in lag) / max(1, len(lag)), 1),
        "lag_max": lag_max, "lag_slope_per_min": round(lag_slope, 1),
        "samples": [{k: round(v, 1) for k, v in s.items()} for s in samples[::every]],
    }
