"""Benchmarks of the scoring service on a real local Kafka broker: `python -m bench [--help]`.

Cases (`--cases`, default: all but `scale`)::

    ceiling     decode + validate + batch + predict + prediction JSON, in process, no Kafka
    e2e         the consumer in process through the broker, default settings (drift on)
    guarantees  the same with --guarantee at-least-once / exactly-once
    drift_off   the same with drift monitoring off
    naive       the textbook loop: poll 1, predict 1 row, produce, flush, commit
    process     `python -m consumer` as a subprocess on the pre-filled topic: peak RSS, startup
    latency     `python -m consumer` + `python -m producer` at a steady rate: end-to-end latency
    scale       1, 2 and 3 consumer processes in one group; join/leave correctness

Results go to `bench/results/latest.json` (git-ignored) and a table on stdout;
`python -m bench.scale` runs the scale-out case alone. Speed is never asserted by tests.
"""

from bench.exceptions import BenchError, CaseError
from bench.settings import ALL_CASES, DEFAULT_CASES, BenchSettings

__all__ = ["ALL_CASES", "DEFAULT_CASES", "BenchError", "BenchSettings", "CaseError"]
