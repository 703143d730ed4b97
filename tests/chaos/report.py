"""The summary table and `tests/chaos/results/latest.json`."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from tests.chaos.runner import Options, Result

COLUMNS = (
    ("scenario", 14), ("guarantee", 13), ("events_in", 9), ("valid_in", 8),
    ("predictions_unique", 11), ("duplicates", 10), ("lost", 5), ("dlq", 5),
    ("faults_injected", 6), ("recovery_s", 10), ("restarts", 8), ("metrics", 9),
    ("verdict", 7),
)
HEADERS = {"predictions_unique": "pred_uniq", "faults_injected": "faults",
           "metrics": "http fail"}


def _cell(result: Result, name: str) -> str:
    if name == "verdict":
        return "PASS" if result.passed else "FAIL"
    if name == "metrics":
        return f"{result.metrics_failures}/{result.metrics_polls}"
    value = getattr(result, name)
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def table(results: list[Result]) -> str:
    lines = [" ".join(HEADERS.get(n, n).rjust(w) for n, w in COLUMNS)]
    for r in results:
        lines.append(" ".join(_cell(r, n).rjust(w) for n, w in COLUMNS))
        for check in r.failed_checks:
            lines.append(f"    ! {check}")
    return "\n".join(lines)


def write_json(path: Path, opts: Options, results: list[Result], started: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "options": {"events": opts.events, "quick": opts.quick, "seed": opts.seed,
                    "batch_size": opts.batch_size, "soak_seconds": opts.soak_seconds,
                    "soak_rate": opts.soak_rate, "kafka_config": list(opts.kafka_config),
                    "replica_ids": opts.replica_ids,
                    "workdir": str(opts.workdir)},
        "passed": all(r.passed for r in results),
        "results": [r.as_dict() for r in results],
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
