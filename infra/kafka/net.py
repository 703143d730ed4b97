"""Small TCP helpers: is a number a port, is a port free, does it accept connections, find free
ports."""

from __future__ import annotations

import contextlib
import socket

MAX_PORT = 65535


def check_port(name: str, port: int) -> None:
    """Raise ValueError naming ``name`` unless ``port`` is a TCP port (1..65535)."""
    if not 1 <= port <= MAX_PORT:
        raise ValueError(f"{name}={port} is not a TCP port: expected 1..{MAX_PORT}")


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports the OS reports free on ``host`` (all held open until chosen)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports
