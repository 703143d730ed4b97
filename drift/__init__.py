"""Drift monitoring for a tabular regression model: pure numpy / scipy / pandas.

Feature names and categories are passed in; nothing here knows about diamonds, Kafka or
Prometheus. Usage::

    from drift import ReferenceProfile, SequentialConcept, SequentialMonitor

    # at training time: profile the training set and the held-out predictions and errors
    profile = ReferenceProfile.build(
        train, numeric=["carat", "depth", "table"], categorical=["cut", "color", "clarity"],
        holdout=test, reference_predictions=test_pred, reference_errors=y_test - test_pred,
    )
    profile.save("reference_profile.json")

    # in the consumer: one monitor per model, fed with every scored batch
    profile = ReferenceProfile.load("reference_profile.json")
    monitor = SequentialMonitor(profile)         # gamma=3e9 events per false flag, per flag
    new = monitor.update(batch)                  # features (+ "prediction"): the transitions
    report = monitor.evaluate()                  # SequentialReport: states + transitions
    report.features["carat"].drift_detected, report.dataset, report.to_dict()

    concept = SequentialConcept(profile)         # errors (relative, format 4); format >= 2
    concept.update(y_true, y_pred)               # when labels arrive, however late
    concept.evaluate().drift_detected
    monitor.reset(); concept.reset()             # the model or the profile changed

    estimator = PerformanceEstimator(reference, loss_model)  # drift.estimation: no labels
    estimator.update(frame_with_prediction); estimator.evaluate().mae_ratio

Every event goes through CUSUM banks (`drift.sequential`) with an expected run time without
drift (ERT) of `gamma` events per flag; a flag is raised at the event that completed the
crossing block of 16 events (the same whatever the batches) and cleared when
the data return to the reference. `ADWIN` and `PageHinkley` are single-stream detectors with
the same `update` / `drift_detected` / reset contract (`DriftDetector`).

Errors::

    DriftError
    ├── MissingColumnError   a frame lacks a profiled column
    └── ProfileError         a profile cannot be built, read or used

Bad parameters raise `ValueError` naming the valid range.
"""

from drift.adwin import ADWIN
from drift.base import DriftDetector
from drift.estimation import EstimatedPerformance, EstimationReference, PerformanceEstimator
from drift.exceptions import DriftError, MissingColumnError, ProfileError
from drift.page_hinkley import PageHinkley
from drift.profile import ReferenceProfile
from drift.sequential import (
    ConceptState,
    FlagState,
    SequentialConcept,
    SequentialMonitor,
    SequentialReport,
    Transition,
)

__all__ = [
    "ADWIN",
    "ConceptState",
    "DriftDetector",
    "DriftError",
    "EstimatedPerformance",
    "EstimationReference",
    "FlagState",
    "MissingColumnError",
    "PageHinkley",
    "PerformanceEstimator",
    "ProfileError",
    "ReferenceProfile",
    "SequentialConcept",
    "SequentialMonitor",
    "SequentialReport",
    "Transition",
]
