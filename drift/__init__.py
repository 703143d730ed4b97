"""Drift monitoring for a tabular regression model: pure numpy / scipy / pandas.

Feature names and categories are passed in; nothing here knows about diamonds, Kafka or
Prometheus. Usage::

    from drift import ConceptDriftMonitor, DriftMonitor, ReferenceProfile

    # at training time: profile the training set, calibrate thresholds on the held-out split
    profile = ReferenceProfile.build(
        train, numeric=["carat", "depth", "table"], categorical=["cut", "color", "clarity"],
        holdout=test, reference_predictions=test_pred, reference_errors=y_test - test_pred,
    )
    profile.save("reference_profile.json")

    # in the consumer: one monitor per model, fed with each validated batch
    profile = ReferenceProfile.load("reference_profile.json")
    monitor = DriftMonitor(profile)              # window and thresholds from the profile
    monitor.update(batch)                        # features (+ optional "prediction" column)
    report = monitor.evaluate()                  # DriftReport: per feature, prediction, dataset
    report.features["carat"].drift_detected, report.dataset.share, report.to_dict()

    concept = ConceptDriftMonitor(profile)       # Page-Hinkley on scaled absolute errors
    concept.update(y_true, y_pred)               # when labels arrive, however late
    concept.evaluate().drift_detected            # MAE ratio over threshold, or detector alarm

Sequential flags (`drift.sequential`, issue 13): every event goes through CUSUM banks with an
expected run time without drift (ERT) of `gamma` events per flag (3e9 by default), flags are
raised at the exact event and cleared when the data return to the reference::

    monitor = SequentialMonitor(profile)         # features, prediction, dataset (any feature)
    monitor.update(batch)                        # -> transitions of this batch
    report = monitor.evaluate()                  # SequentialReport: states + transitions
    concept = SequentialConcept(profile)         # needs a profile of format >= 2 (error bins)
    concept.update(y_true, y_pred); concept.evaluate()

The window monitors below stay as they were:
A feature drifts when its window has at least `min_window` rows, the two-sample test rejects
(KS / chi-square) and its effect size (PSI by default) clears the threshold calibrated on
held-out windows, so a stationary stream flags about ``1 - quantile`` of windows or fewer.

Errors::

    DriftError
    ├── MissingColumnError   a frame lacks a profiled column
    └── ProfileError         a profile cannot be built, read or used

Bad parameters raise `ValueError` naming the valid range.
"""

from drift.adwin import ADWIN
from drift.base import DriftDetector
from drift.concept import ConceptDriftMonitor
from drift.exceptions import DriftError, MissingColumnError, ProfileError
from drift.monitor import DriftMonitor
from drift.page_hinkley import PageHinkley
from drift.profile import ReferenceProfile
from drift.report import ConceptReport, DatasetDrift, DriftReport, FeatureDrift
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
    "ConceptDriftMonitor",
    "ConceptReport",
    "ConceptState",
    "DatasetDrift",
    "DriftDetector",
    "DriftError",
    "DriftMonitor",
    "DriftReport",
    "FeatureDrift",
    "FlagState",
    "MissingColumnError",
    "PageHinkley",
    "ProfileError",
    "ReferenceProfile",
    "SequentialConcept",
    "SequentialMonitor",
    "SequentialReport",
    "Transition",
]
