"""A watchdog for the processes a chaos run leaves detached (broker JVMs run in their own
session): if the run dies without its `finally` blocks (a crash, SIGKILL), the reaper SIGKILLs
every process whose command line contains the run's unique work dir, by pid, then exits.

    python -m tests.chaos.reaper <run pid> <work dir>

Consumers and the producer die with the run anyway (`PR_SET_PDEATHSIG`, see `die_with_parent`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infra.kafka.daemon import pid_alive

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For `preexec_fn`: the child gets SIGKILL when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.chaos.reaper", str(os.getpid()),
                             str(workdir)], cwd=Path(__file__).resolve().parents[2],
                            start_new_session=True, stdin=subprocess.DEVNULL)


def _reap(marker: str) -> list[int]:
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except OSError:
                pass
    return killed


def main(argv: list[str]) -> int:
    parent, workdir = int(argv[0]), argv[1]
    while pid_alive(parent):
        time.sleep(1.0)
    killed = _reap(workdir)
    if killed:
        print(f"chaos reaper: the run {parent} died; killed {killed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
