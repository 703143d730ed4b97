"""common.signals.signal_handlers: a real signal reaches the handler inside the block, and the
previous handlers are back after it, also when the block raises."""

from __future__ import annotations

import signal

import pytest

from common.signals import signal_handlers


def test_handlers_are_installed_for_the_block_and_restored_after_it() -> None:
    received: list[int] = []
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with signal_handlers(lambda signum, _frame: received.append(signum)):
        signal.raise_signal(signal.SIGTERM)  # its Python handler runs before this returns
        assert received == [signal.SIGTERM]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_the_previous_handler_is_restored_when_the_block_raises() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    with pytest.raises(RuntimeError, match="boom"), \
            signal_handlers(lambda *_: None, signums=(signal.SIGUSR1,)):
        assert signal.getsignal(signal.SIGUSR1) is not before
        raise RuntimeError("boom")
    assert signal.getsignal(signal.SIGUSR1) is before
