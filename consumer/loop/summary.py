"""What a run of the service returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunSummary:
    consumed: int = 0
    predictions: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0
    replaced: bool = False  # stopped because a newer process took over this --replica-id

    @property
    def events_per_second(self) -> float:
        return self.consumed / self.seconds if self.seconds > 0 else 0.0
