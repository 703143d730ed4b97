"""The command line and environment of a ``python -m consumer`` child: one builder for the
demo, the benchmark and the chaos harness.

Settings reach the child as flags (``flags``, exactly what ``python -m consumer --help``
lists) or as ``CONSUMER_<NAME>`` variables (``settings``: a variable the consumer does not know
is ignored, where an unknown flag is an error). Inherited ``CONSUMER_*``, ``PRODUCER_*``,
``DEMO_*`` and ``TRAIN_*`` variables are dropped: the caller passes every setting it relies on.
``extra_env`` goes in last, as given (the chaos harness's ``CONSUMER_FAULT``).

Only the standard library: this module ships in the consumer's image.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "CONSUMER_"
DROPPED_ENV_PREFIXES = (ENV_PREFIX, "PRODUCER_", "DEMO_", "TRAIN_")
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ConsumerCommand:
    """What to run (``argv``), with what environment (``env``), from where (``cwd``)."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path = REPO


def consumer_command(
    *, flags: Sequence[str] = (), settings: Mapping[str, object] | None = None,
    metrics_port: int | None = None, metrics_addr: str = "127.0.0.1", log_level: str = "INFO",
    extra_env: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
) -> ConsumerCommand:
    """``python -m consumer [flags] [--metrics-port P --metrics-addr A]`` with ``environ``
    (default: ours) minus other components' settings, plus ``settings`` as ``CONSUMER_*``
    variables and ``extra_env``. ``log_level`` INFO by default: callers wait for log lines."""
    argv = [sys.executable, "-m", "consumer", *flags]
    if metrics_port is not None:
        argv += ["--metrics-port", str(metrics_port), "--metrics-addr", metrics_addr]
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if not k.startswith(DROPPED_ENV_PREFIXES)}
    env.update({"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": log_level})
    env.update({f"{ENV_PREFIX}{name.upper()}": str(value)
                for name, value in (settings or {}).items()})
    env.update(extra_env or {})
    return ConsumerCommand(argv=tuple(argv), env=env)
