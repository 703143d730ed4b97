"""Facts about the machine and the software a benchmark ran on (numbers mean little without)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

LIBRARIES = (
    "numpy", "pandas", "scikit-learn", "scipy", "orjson", "pydantic", "pydantic-settings",
    "confluent-kafka", "prometheus-client", "threadpoolctl",
)
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_CORETYPE", "PYTHONHASHSEED")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    try:
        import confluent_kafka

        out["librdkafka"] = confluent_kafka.libversion()[0]
    except ImportError:
        out["librdkafka"] = None
    return out


def thread_pools() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    return [
        {k: info.get(k) for k in ("internal_api", "num_threads", "version", "threading_layer")}
        for info in threadpool_info()
    ]


def machine_facts(kafka_version: str | None = None) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_model": cpu_model(),
        "memory_gb": round(memory.total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "libraries": {**versions(), "kafka_broker": kafka_version},
        "env": {name: os.environ.get(name) for name in THREAD_ENV},
        "thread_pools": thread_pools(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
