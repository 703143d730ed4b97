"""`--profile`: one extra e2e run (not measured) under pyinstrument, written as HTML and text.

A statistical profiler (a stack sample every millisecond) shows where the consumer's own
thread spends its time end to end: consume, decode, score, produce, the transaction commit,
drift. librdkafka's threads and the broker are outside it (they are not Python).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

INTERVAL_S = 0.001


def profile_call(run: Callable[[], Any], out_dir: Path, name: str = "profile") -> Path:
    """Run `run()` under pyinstrument; write ``<name>.html`` and ``<name>.txt`` in `out_dir`."""
    from pyinstrument import Profiler  # a dev dependency: only imported when asked for

    profiler = Profiler(interval=INTERVAL_S)
    profiler.start()
    try:
        run()
    finally:
        profiler.stop()
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{name}.html"
    html.write_text(profiler.output_html())
    (out_dir / f"{name}.txt").write_text(profiler.output_text(unicode=False, color=False))
    log.info("profile of the hot loop written to %s (and .txt)", html)
    return html
