"""`ModelSwitch`: swap in what the follower offered, between two batches, in the loop's thread.

`BatchProcessor` asks `between_batches(scorer)` before each batch and at each idle poll; with
nothing offered that is one attribute read. A new champion becomes the scorer of the next batch:
`diamond_model_info` switches, ``diamond_model_swaps_total{alias}`` counts, the drift monitors are
reset to the new model's reference profile and loss model (every flag lowers, the concept flag
with them), the label join forgets the predictions the old model made (their labels count as
unmatched: they measure the old model), and the champion's window MAE starts over. A new
challenger starts the shadow; a withdrawn one stops it; a promoted one stops being shadowed.

Nothing here touches offsets or transactions: the batch before the swap was committed with the
old model's predictions, the batch after it is scored whole by the new model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from consumer.models.metrics import ModelMetrics
from consumer.models.shadow import ModelComparison, ShadowScoring
from consumer.models.slot import ModelSlot, Offer
from consumer.pipeline.scoring import Scorer

log = logging.getLogger(__name__)


class ModelSwitch:
    def __init__(
        self,
        slot: ModelSlot,
        metrics: ModelMetrics,
        *,
        new_scorer: Callable[[Any], Scorer],
        on_champion: Callable[[Offer], None] = lambda offer: None,
        shadow: ShadowScoring | None = None,
        comparison: ModelComparison | None = None,
    ) -> None:
        self.slot = slot
        self.metrics = metrics
        self.new_scorer = new_scorer
        self.on_champion = on_champion  # the service's metrics and drift monitors
        self.shadow = shadow
        self.comparison = comparison

    @property
    def waiting(self) -> bool:
        """Something was offered since the last swap (read without a lock: a hint)."""
        return self.slot.waiting

    def between_batches(self, scorer: Scorer) -> Scorer:
        """The scorer for the next batch: `scorer`, or the champion offered since."""
        if not self.slot.waiting:
            return scorer
        for offer in self.slot.take():
            if offer.alias == "champion":
                scorer = self._champion(offer, scorer)
            else:
                self._challenger(offer)
        return scorer

    def _champion(self, offer: Offer, scorer: Scorer) -> Scorer:
        if offer.model is None:  # never serve nothing: a withdrawn champion keeps serving
            log.warning("the champion alias was withdrawn: still serving %s", scorer.version)
            return scorer
        new = self._scorer(offer)
        self.on_champion(offer)
        if self.comparison is not None:
            self.comparison.reset_champion()
        if self.shadow is not None and self.shadow.version == new.version:
            self.shadow.stop()  # the challenger was promoted: no point shadowing the champion
        self.metrics.swaps.labels(alias="champion").inc()
        self.metrics.swap_delay.observe(time.monotonic() - offer.offered_at)
        reason = offer.announcement.reason if offer.announcement is not None else ""
        log.info("swapped champion %s -> %s between two batches (%s)", scorer.version,
                 new.version, reason)
        return new

    def _challenger(self, offer: Offer) -> None:
        if self.shadow is None:
            return
        if offer.model is None:
            self.shadow.stop()
            return
        self.shadow.start(self._scorer(offer))
        self.metrics.swaps.labels(alias="challenger").inc()

    def _scorer(self, offer: Offer) -> Scorer:
        """The scorer the follower prepared, else one built now."""
        scorer = getattr(offer.prepared, "scorer", None)
        return scorer if isinstance(scorer, Scorer) else self.new_scorer(offer.model)
