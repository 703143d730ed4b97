"""What the local broker, the local Prometheus, the demo's, the benchmark's and the chaos
harness's children share: a child process run in its own session (the terminal's Ctrl-C reaches
only us, and we stop it in order), its output appended to a log file, and stopped by its pid:
SIGTERM, then SIGKILL after a timeout. ``ChildProcess`` is the plain case: a command line, an
environment, a working directory.

``InfraError`` is the root of the launchers' errors: a one-sentence message that names the
offending value and what to do, and ``detail``, the tail of the relevant log.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
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

    # Each reads self._process once: another thread may forget the process meanwhile.
    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    @property
    def is_running(self) -> bool:
        process = self._process
        return process is not None and process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code of the last run; None while it runs or when it never ran."""
        process = self._process
        return process.poll() if process is not None else self._last_code

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

    def log_text(self) -> str:
        """What this run wrote to ``log_file`` so far ("" when it cannot be read)."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int | None = None) -> str:
        """The last lines this run wrote to ``log_file`` ("" when it cannot be read)."""
        return "\n".join(self.log_text().splitlines()[-(lines or self.tail_lines):])

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
               banner: str = "",
               preexec_fn: Callable[[], object] | None = None) -> subprocess.Popen[bytes]:
        """Run ``command`` in its own session with its output appended to ``log_file``, after a
        ``banner`` line when given; ``preexec_fn`` runs in the child before the exec. Raises
        OSError when it cannot be executed."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            if banner:
                log.write(f"---- {banner} at {time.strftime('%F %T')} ----\n".encode())
                log.flush()
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=cwd, env=None if env is None else dict(env), start_new_session=True,
                preexec_fn=preexec_fn)
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


class ChildProcess(ManagedProcess):
    """A command run as it is: ``argv`` in ``cwd`` with ``env`` (None: ours), ``banner`` as
    the log's separator line. Ready as soon as it started; ``wait`` for its exit."""

    def __init__(self, name: str, argv: Sequence[str], *, log_file: Path, cwd: Path,
                 env: Mapping[str, str] | None = None, banner: str = "", tail_lines: int = 15,
                 preexec_fn: Callable[[], object] | None = None) -> None:
        super().__init__(name, log_file, tail_lines=tail_lines)
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.banner = banner
        self.preexec_fn = preexec_fn

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, pid={self.pid}, returncode={self.returncode})"

    def start(self) -> None:
        process = self._spawn(self.argv, cwd=self.cwd, env=self.env, banner=self.banner,
                              preexec_fn=self.preexec_fn)
        logger.info("started %s pid %d (log: %s)", self.name, process.pid, self.log_file)

    def wait_ready(self, timeout: float = 60.0) -> float:
        return 0.0

    def poll(self) -> int | None:
        """The exit code once it exited (the process is kept, unlike ``stop``), else None."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit and return its code (raises subprocess.TimeoutExpired)."""
        process = self._process
        if process is None:
            if self._last_code is None:
                raise InfraError(f"{self.name} was never started")
            return self._last_code
        code = process.wait(timeout=timeout)
        self._forget(process)
        return code
