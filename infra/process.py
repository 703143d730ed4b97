"""What the local broker, the local Prometheus and the demo's children share: a child process
run in its own session (the terminal's Ctrl-C reaches only us, and we stop it in order), its
output appended to a log file, and stopped by its pid: SIGTERM, then SIGKILL after a timeout.

``InfraError`` is the root of the launchers' errors: a one-sentence message that names the
offending value and what to do, and ``detail``, the tail of the relevant log.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

logger = logging.getLogger(__name__)


class InfraError(Exception):
    """Root of the launcher errors: a message and, when there is one, the log tail."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message}\n{self.detail}" if self.detail else self.message


class ManagedProcess:
    """One child process. Subclasses say how to start it and, for ``with``, when it is ready.

    Once it exits, or is stopped or killed here, the process is forgotten (``pid`` is None) and
    its exit code kept in ``returncode``.
    """

    def __init__(self, name: str, log_file: Path, *, tail_lines: int = 40) -> None:
        self.name = name
        self.log_file = log_file
        self.tail_lines = tail_lines
        self._process: subprocess.Popen[bytes] | None = None
        self._last_code: int | None = None
        self._log_offset = 0  # where this run's output starts in log_file

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code of the last run; None while it runs or when it never ran."""
        return self._process.poll() if self._process is not None else self._last_code

    def start(self) -> None:
        raise NotImplementedError

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until the process serves; return the seconds waited."""
        raise NotImplementedError

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the process started here, SIGKILL after ``timeout`` s; waits for the exit
        and returns its code (None: nothing was started)."""
        process = self._process
        if process is None:
            return self._last_code
        if process.poll() is None:
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s pid %d ignored SIGTERM for %g s: sending SIGKILL",
                               self.name, process.pid, timeout)
                process.kill()
                process.wait()
            logger.info("stopped %s pid %d in %.1f s (exit code %s)", self.name, process.pid,
                        time.monotonic() - started, process.returncode)
        return self._forget(process)

    def kill(self) -> None:
        """SIGKILL the process (a crash, for fault injection); waits for the exit."""
        process = self._process
        if process is None:
            return
        process.kill()
        process.wait()
        logger.info("killed %s pid %d", self.name, process.pid)
        self._forget(process)

    def log_tail(self, lines: int | None = None) -> str:
        """The last lines this run wrote to ``log_file`` ("" when it cannot be read)."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-(lines or self.tail_lines):])

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- for subclasses --------------------------------------------------------------------

    def _spawn(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
               banner: str = "") -> subprocess.Popen[bytes]:
        """Run ``command`` in its own session with its output appended to ``log_file``, after a
        ``banner`` line when given. Raises OSError when it cannot be executed."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            if banner:
                log.write(f"---- {banner} at {time.strftime('%F %T')} ----\n".encode())
                log.flush()
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=cwd, env=None if env is None else dict(env), start_new_session=True)
        self._last_code = None
        return self._process

    def _exited(self) -> int | None:
        """The exit code if the started process has exited (it is then forgotten), else None.
        Call only after ``start()``: subclasses raise their own 'not started' error first."""
        process = self._process
        if process is None or process.poll() is None:
            return None
        return self._forget(process)

    def _forget(self, process: subprocess.Popen[bytes]) -> int | None:
        self._process = None
        self._last_code = process.returncode
        return self._last_code
