"""Signal handlers for the length of a ``with`` block: installed on entry, the previous ones
restored on exit (also when the block raises)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any]


@contextmanager
def signal_handlers(handler: Handler,
                    signums: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Route ``signums`` to ``handler`` inside the block. Only the main thread may set
    handlers: elsewhere ``signal.signal`` raises ValueError."""
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
