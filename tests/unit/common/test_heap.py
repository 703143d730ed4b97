"""`freeze_startup_heap`: what lives at startup leaves the collector's reach; garbage does not."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from common.heap import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.peer: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite runs with the collector as usual


def test_live_objects_are_frozen_and_counted(unfrozen: None) -> None:
    live = [Node() for _ in range(1_000)]
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count()
    assert frozen >= len(live)
    # a full collection no longer walks them: only what was created since is left to track
    assert len(gc.get_objects(generation=2)) < frozen


def test_garbage_cycles_are_collected_before_the_freeze(unfrozen: None) -> None:
    a, b = Node(), Node()
    a.peer, b.peer = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    freeze_startup_heap()
    assert gone() is None
