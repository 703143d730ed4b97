"""A reduced chaos run inside `make test` (the full one is `make chaos`): exactly-once, ~5,000
events mixed with the whole poison corpus (every reason, oversize payloads up to 10 MB,
duplicate event ids), two targeted SIGKILLs of the consumer (inside an open transaction, then
between adding the offsets to the transaction and committing it), then a graceful finish; the
independent read_committed audit must find nothing lost, nothing duplicated and every poison
event dead-lettered with its expected reason, and /metrics must have answered throughout.

The consumers run as one replica (the harness's slot 1, `--replica-id replica-1`), as a
supervisor restarts them: each restart takes the killed one's partitions back and fences its open
transaction at once, with librdkafka's and the broker's default timeouts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.runner import Options, Run
from tests.chaos.stream import build_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigkill_twice_and_poison_lose_nothing_and_duplicate_nothing(
    bootstrap_servers: str, model_dir: Path, tmp_path: Path
) -> None:
    cluster = Cluster(bootstrap_servers)
    opts = Options(events=5000, model_dir=model_dir, workdir=tmp_path, quick=True,
                   batch_size=250)
    stream = build_stream(5000, seed=11, run_id="reduced", poison=True, duplicate_ids=20)
    run = Run(cluster, opts, "reduced", "exactly-once", stream, rate=None, exact=True)
    try:
        with run.running():
            run.start_stream()
            for point in ("in_transaction", "before_commit"):
                proc = run.consumer(env={"CONSUMER_FAULT": f"{point}:kill@3"})
                code = proc.wait(timeout=120)
                run.fault(f"kill at {point}")
                assert code == -9, proc.log_text()[-3000:]
            last = run.consumer()
            run.drain([last], timeout=180)
            result = run.finish(timeout=120)
    finally:
        cluster.delete_topics([run.input, run.output, run.dlq, run.labels, run.reports])
        cluster.close()
    summary = {k: v for k, v in result.as_dict().items() if k != "details"}
    assert result.passed, (result.failed_checks, summary, result.details)
    assert result.lost == 0 and result.duplicates == 0
    assert result.events_in == len(stream) and result.poison_in == len(stream.poison)
    assert result.dlq == result.poison_in and result.wrong_reason == 0
    assert result.predictions_unique == result.valid_in
    assert result.faults_injected == 2 and result.metrics_failures == 0
