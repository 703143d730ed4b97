"""`--profile`: the profiler wraps a call and writes what it sampled."""

from __future__ import annotations

import time
from pathlib import Path

from bench.profiling import profile_call


def _busy_hot_loop() -> None:
    deadline = time.perf_counter() + 0.05
    while time.perf_counter() < deadline:
        sum(range(1000))


def test_the_profile_names_the_functions_that_ran(tmp_path: Path) -> None:
    html = profile_call(_busy_hot_loop, tmp_path / "out", name="hot")
    assert html == tmp_path / "out" / "hot.html" and html.stat().st_size > 0
    assert "_busy_hot_loop" in (tmp_path / "out" / "hot.txt").read_text()
