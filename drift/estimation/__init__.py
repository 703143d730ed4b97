"""Label-free performance estimation (Direct Loss Estimation) and its alarm.

    EstimationReference    built at training time from cross-fitted loss estimates (reference.py)
    alarm_flag             the "model got materially worse" flag on the estimated loss (alarm.py)
    PerformanceEstimator   update(frame with "prediction") / evaluate() -> EstimatedPerformance

Usage::

    reference = EstimationReference.build(oof_estimates, held_out_abs_errors)
    estimator = PerformanceEstimator(reference, loss_model)   # loss_model.predict(frame)
    estimator.update(frame)              # features + "prediction": the alarm's transitions
    estimator.evaluate()                 # estimated MAE / RMSE since the last call, ratios,
                                         # band, flag state and transitions

Errors are the drift package's: `ProfileError` (a reference that cannot be built or read, an
alarm ratio its bins cannot express), `MissingColumnError` (a frame without ``prediction``),
`ValueError` for bad gammas.
"""

from drift.estimation.alarm import FLAG, alarm_flag, base_tilt, break_even
from drift.estimation.estimator import EstimatedPerformance, LossModel, PerformanceEstimator
from drift.estimation.reference import ALARM_RATIO, EstimationReference, WindowCheck

__all__ = [
    "ALARM_RATIO",
    "FLAG",
    "EstimatedPerformance",
    "EstimationReference",
    "LossModel",
    "PerformanceEstimator",
    "WindowCheck",
    "alarm_flag",
    "base_tilt",
    "break_even",
]
