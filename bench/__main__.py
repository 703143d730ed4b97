"""`python -m bench [--help] [options]`: run the benchmarks, print a table, write the JSON.

Exit codes: 0 when every selected case ran (targets may still fail: see the table), 1 when a
case or the broker failed, 2 on invalid settings.
"""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError

from bench.exceptions import BenchError
from bench.report import table, write
from bench.runner import run_bench
from bench.settings import BenchSettings
from common.logs import configure_logging
from infra.kafka import BrokerError

log = logging.getLogger("bench")


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    for noisy in ("consumer", "infra", "producer", "drift", "model"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = CliApp.run(BenchSettings, cli_args=sys.argv[1:] if argv is None else argv)
    except (ValidationError, SettingsError) as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    if set(settings.cases) == {"drift_delays"}:  # no broker: merged into the existing record
        from bench.drift_delays import merge_into, run_drift_delays
        from bench.drift_delays import table as delay_table

        result = run_drift_delays(seed=settings.seed, quick=settings.quick)
        write(merge_into(settings.output, result), settings.output)
        print(delay_table(result))
        print(f"\nwritten to {settings.output}")
        return 0
    try:
        record = run_bench(settings)
    except (BenchError, BrokerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write(record, settings.output)
    print(table(record))
    if record.get("drift_delays"):
        from bench.drift_delays import table as delay_table

        print("\n" + delay_table(record["drift_delays"]))
    print(f"\nwritten to {settings.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
