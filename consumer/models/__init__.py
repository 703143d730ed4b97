"""Model changes while serving: follow the models topic, swap between batches, shadow-score.

=================  ==============================================================================
module             holds
=================  ==============================================================================
`slot`             `ModelSlot`: the hand-over of loaded models from the follower to the loop
`follower`         `ModelFollower`: a thread that reads the compacted models topic from its
                   beginning (no group), loads and verifies each newly announced version off the
                   hot path and offers it to the slot; refusals are logged and counted
`switch`           `ModelSwitch`: between two batches, takes what the slot holds and swaps it in:
                   the scorer, `diamond_model_info`, the drift detectors (reset to the new
                   profile), the label join's cache; the challenger into the shadow
`shadow`           `ShadowScoring` (the challenger scores each committed batch once more, never
                   to the predictions topic) and `ModelComparison` (both models' window MAE on
                   the joined labels)
`metrics`          `ModelMetrics`: swaps, refusals, shadow cost, window MAE per model
=================  ==============================================================================

Invariants (tested in tests/unit/consumer/models): a swap happens only between batches, in the
loop's thread, so every event of a batch is scored by one model and its prediction carries that
model's version; a swap never touches offsets or transactions, so nothing is lost or scored twice
across it; a version that fails verification never reaches the slot, and the serving model stays.
"""

from consumer.models.follower import ModelFollower
from consumer.models.metrics import ModelMetrics
from consumer.models.shadow import ModelComparison, ShadowScoring
from consumer.models.slot import ModelSlot, Offer
from consumer.models.switch import ModelSwitch

__all__ = [
    "ModelComparison",
    "ModelFollower",
    "ModelMetrics",
    "ModelSlot",
    "ModelSwitch",
    "Offer",
    "ShadowScoring",
]
