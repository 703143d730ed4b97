"""`python -m bench [--help] [options]`: run the benchmarks, print a table, write the JSON.

Exit codes: 0 when every selected case ran (targets may still fail: see the table), 1 when a
case or the broker failed, 2 on invalid settings.
"""

from __future__ import annotations

import importlib
import logging
import sys

from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError

from bench.exceptions import BenchError
from bench.report import merge_case, table, write
from bench.runner import run_bench
from bench.settings import PURE_CASES, BenchSettings
from common.logs import configure_logging
from infra.kafka import BrokerError

log = logging.getLogger("bench")


def run_pure(case: str, settings: BenchSettings) -> None:
    """One pure case (`bench.<case>`: `run_<case>`, `table`), merged into the record at
    `settings.output`; prints its table."""
    module = importlib.import_module(f"bench.{case}")
    result = getattr(module, f"run_{case}")(seed=settings.seed, quick=settings.quick)
    write(merge_case(settings.output, case, result), settings.output)
    print(module.table(result))


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    for noisy in ("consumer", "infra", "producer", "drift", "model"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = CliApp.run(BenchSettings, cli_args=sys.argv[1:] if argv is None else argv)
    except (ValidationError, SettingsError) as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    if set(settings.cases) <= set(PURE_CASES):  # no broker: merged into the existing record
        for case in settings.cases:
            run_pure(case, settings)
        print(f"\nwritten to {settings.output}")
        return 0
    try:
        record = run_bench(settings)
    except (BenchError, BrokerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write(record, settings.output)
    print(table(record))
    for case in PURE_CASES:
        if record.get(case):
            print("\n" + importlib.import_module(f"bench.{case}").table(record[case]))
    print(f"\nwritten to {settings.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
