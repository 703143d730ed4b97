"""Replica identity on the real broker (`--replica-id`: static membership, stable transactional.id),
with the chaos harness's consumers (a slot = a replica id) and its independent read_committed
audit.

1. A second process started with the identity of a running one takes over: the first stops
   cleanly (exit 0, "replaced" in its log) without committing anything more, the second finishes
   the stream, and every event has exactly one prediction (exactly-once).
2. A replica SIGKILLed inside an open transaction and restarted under the same identity takes
   its partitions back while its dead predecessor is still a member of the group, and fences
   that predecessor's open transaction. The consumers run with session.timeout.ms and
   transaction.timeout.ms of 300 s: a new identity would wait that long (the group waits for the
   dead member's session to expire, the committed offsets for the broker to abort its
   transaction), far beyond the drain's bound, so draining at all shows the behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.runner import Options, Result, Run
from tests.chaos.stream import build_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEAD_FOR_LONG = ("session.timeout.ms=300000", "transaction.timeout.ms=300000")


@pytest.fixture
def cluster(bootstrap_servers: str) -> Iterator[Cluster]:
    cluster = Cluster(bootstrap_servers)
    yield cluster
    cluster.close()


def _cleanup(cluster: Cluster, run: Run) -> None:
    cluster.delete_topics([run.input, run.output, run.dlq, run.labels, run.reports])


def _summary(result: Result) -> dict[str, object]:
    return {k: v for k, v in result.as_dict().items() if k != "details"}


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_the_later_process_with_an_identity_wins_and_the_earlier_exits_0(
    cluster: Cluster, model_dir: Path, tmp_path: Path, guarantee: str
) -> None:
    opts = Options(events=3000, model_dir=model_dir, workdir=tmp_path, quick=True,
                   batch_size=100)
    stream = build_stream(3000, seed=5, run_id=f"takeover-{guarantee[:3]}")
    exactly_once = guarantee == "exactly-once"
    # 12 s of traffic: the second process starts once 300 events are committed (~1 s in) and
    # takes over when it is ready (a consumer starts in ~4 s), while the first one is busy
    run = Run(cluster, opts, "takeover", guarantee, stream, rate=250.0, exact=exactly_once)
    try:
        with run.running():
            first = run.ready(run.consumer())
            run.start_stream()
            run.wait_progress(300, alive=[first])
            second = run.consumer()  # the same slot: the same replica id
            code = first.wait(timeout=120)
            run.drain([second], timeout=180)
            result = run.finish(timeout=120)
    finally:
        _cleanup(cluster, run)
    log = first.log_text()
    assert code == 0, log[-3000:]
    assert "replaced: another process started as replica 'replica-1'" in log, log[-3000:]
    assert second.returncode == 0, second.log_text()[-3000:]
    assert result.passed, (result.failed_checks, _summary(result), result.details)
    assert result.lost == 0 and result.predictions_unique == result.valid_in == len(stream)
    if exactly_once:
        assert result.duplicates == 0


def test_a_restarted_replica_takes_over_from_its_dead_predecessor_at_once(
    cluster: Cluster, model_dir: Path, tmp_path: Path
) -> None:
    opts = Options(events=3000, model_dir=model_dir, workdir=tmp_path, quick=True,
                   batch_size=100, kafka_config=DEAD_FOR_LONG)
    stream = build_stream(3000, seed=6, run_id="restart")
    run = Run(cluster, opts, "restart", "exactly-once", stream, rate=None, exact=True)
    try:
        with run.running():
            run.start_stream()
            dead = run.consumer(env={"CONSUMER_FAULT": "in_transaction:kill@3"})
            code = dead.wait(timeout=120)
            run.fault("SIGKILL inside a transaction")
            assert code == -9, dead.log_text()[-3000:]
            restarted = run.consumer()  # the same slot: the same replica id
            run.drain([restarted], timeout=120)  # well under the 300 s session
            result = run.finish(timeout=120)
    finally:
        _cleanup(cluster, run)
    assert result.passed, (result.failed_checks, _summary(result), result.details)
    assert result.lost == 0 and result.duplicates == 0
    assert result.predictions_unique == result.valid_in == len(stream)
    assert restarted.log_text().count(" assigned ") == 1  # one assignment, no rebalance after
