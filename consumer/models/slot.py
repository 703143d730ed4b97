"""`ModelSlot`: loaded models handed from the follower's thread to the loop's.

The follower `offer`s a verified model per alias (or None: the alias was withdrawn); the loop
`take`s everything offered since its last look, between two batches. A newer offer for the same
alias replaces an older one not yet taken: the loop only ever swaps to the latest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from common.contracts.models import Announcement


@dataclass(frozen=True)
class Offer:
    """A verified model for an alias (`model` None: the alias was withdrawn)."""

    alias: str
    model: Any  # a loaded model.artifact.ModelArtifact (consumer.pipeline.ModelLike)
    announcement: Announcement | None
    offered_at: float  # time.monotonic() when it was offered
    prepared: Any = None  # what the follower built for it off the hot path (scorer, detectors)


class ModelSlot:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offers: dict[str, Offer] = {}
        self.waiting = False  # read without the lock on the hot path: a hint, rechecked in take

    def offer(self, offer: Offer) -> None:
        with self._lock:
            self._offers[offer.alias] = offer
            self.waiting = True

    def take(self) -> list[Offer]:
        """Every alias's latest offer since the last call (champion first)."""
        with self._lock:
            offers, self._offers, self.waiting = self._offers, {}, False
        return sorted(offers.values(), key=lambda o: o.alias != "champion")
