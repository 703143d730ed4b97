"""The retraining service: join events and labels, train on drift, promote on live labels.

    events + labels --> window.py   JoinWindow: bounded recent labelled rows (pure)
    drift reports   --> triggers.py drift_triggers, TrainingGate (debounce; pure)
                        training.py the data policy, the held-out slice, both scores
                        worker.py   TrainingWorker: one training at a time, in a thread
                        promotion.py LiveComparison, PromotionRule, decide (pure)
                        app.py      RetrainerService: the loop, the registry, the models topic
                        metrics.py  RetrainerMetrics (diamond_retrainer_*)
                        settings.py RetrainerSettings (RETRAINER_*)

Errors: see `retrainer.exceptions`.
"""

from retrainer.app import RetrainerService
from retrainer.exceptions import ChampionUnavailableError, RetrainerError
from retrainer.promotion import Decision, LiveComparison, PromotionRule, decide
from retrainer.settings import RetrainerSettings
from retrainer.training import TrainingPolicy, TrainingResult, train_candidate
from retrainer.triggers import TrainingGate, Trigger, drift_triggers
from retrainer.window import JoinWindow, LabelledRow

__all__ = [
    "ChampionUnavailableError",
    "Decision",
    "JoinWindow",
    "LabelledRow",
    "LiveComparison",
    "PromotionRule",
    "RetrainerError",
    "RetrainerService",
    "RetrainerSettings",
    "Trigger",
    "TrainingGate",
    "TrainingPolicy",
    "TrainingResult",
    "decide",
    "drift_triggers",
    "train_candidate",
]
