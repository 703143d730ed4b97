"""Sequential drift flags with an expected run time without drift stated in events.

    TiltBank            CUSUMs of exact log-likelihood ratios of tilted bin distributions
    DriftFlag           one flag: raised by its bank, cleared by a reverse test (a lifecycle)
    SequentialMonitor   flags per feature, for the prediction, and the dataset (any feature)
    SequentialConcept   the concept flag on the errors of labelled predictions (relative to the
                        prediction where they grow with it, else absolute)

Which flags a profile gets, on which bins and with which allowance, is `drift.sequential.plan`;
their calibration constants are measured when the profile is built (training time) and stored
in it, so monitors start in milliseconds (`drift.sequential.calibrate`).

Usage (the consumer feeds every scored batch, reports whenever it likes)::

    monitor = SequentialMonitor(profile)            # gamma=3e9 events per flag
    monitor.update(frame)                           # features (+ "prediction"): transitions
    report = monitor.evaluate()                     # states + transitions since last call
    concept = SequentialConcept(profile)
    concept.update(y_true, y_pred); concept.evaluate()
    monitor.reset(); concept.reset()                # the model or the profile changed
"""

from drift.sequential.bank import Direction, TiltBank
from drift.sequential.concept import CONCEPT, SequentialConcept
from drift.sequential.flag import ENDED, STARTED, DriftFlag, Transition
from drift.sequential.monitor import CLEAR_GAMMA, DATASET, GAMMA, SequentialMonitor
from drift.sequential.report import ConceptState, FlagState, SequentialReport

__all__ = [
    "CLEAR_GAMMA",
    "CONCEPT",
    "DATASET",
    "ENDED",
    "GAMMA",
    "STARTED",
    "ConceptState",
    "Direction",
    "DriftFlag",
    "FlagState",
    "SequentialConcept",
    "SequentialMonitor",
    "SequentialReport",
    "TiltBank",
    "Transition",
]
