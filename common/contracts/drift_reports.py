"""Drift reports: one JSON record per drift evaluation, key = the consumer instance's id.

::

    {"evaluated_at": 1767225600123,            epoch ms
     "model_version": "hgb-0123456789ab", "group_id": "diamond-scorer",
     "instance": "host-1234",                  the consumer process (also the record key)
     "n_seen": 120000,                         events fed to the drift monitor since start
     "data": {...},                            data drift: DATA_FIELDS
     "concept": {...} | null,                  concept drift: CONCEPT_FIELDS; null: no label join
     "labels": {"received": 0, "matched": 0, "unmatched": 0, "late": 0, "invalid": 0}}

``data`` holds `DATA_FIELDS`: its ``features`` map each input feature and ``prediction`` (or
null) to an object of `FEATURE_DRIFT_FIELDS`, and ``dataset`` is an object of `DATASET_FIELDS`.
``labels`` counts every label by outcome (`LABEL_OUTCOMES`). Statistics that cannot be computed
are null, never NaN.

The nested objects are the `to_dict()` of the `drift` package's reports (which stays pure and
knows nothing of Kafka); the consumer assembles the record with `drift_report_record`.
tests/unit/common/test_contracts_drift_reports.py checks that both agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

REPORT_FIELDS: tuple[str, ...] = (
    "evaluated_at", "model_version", "group_id", "instance", "n_seen", "data", "concept", "labels",
)
DATA_FIELDS: tuple[str, ...] = ("n_rows", "n_seen", "effect", "features", "prediction", "dataset")
FEATURE_DRIFT_FIELDS: tuple[str, ...] = (
    "feature", "kind", "test", "statistic", "p_value", "psi", "distance", "effect_size",
    "threshold", "drift_detected", "window_size",
)
DATASET_FIELDS: tuple[str, ...] = ("n_features", "n_drifted", "share", "drift_detected")
CONCEPT_FIELDS: tuple[str, ...] = (
    "n_labels", "mae", "rmse", "reference_mae", "reference_rmse", "mae_ratio", "rmse_ratio",
    "detector_name", "detector_alarm", "n_alarms", "drift_detected",
)
LABEL_OUTCOMES: tuple[str, ...] = ("received", "matched", "unmatched", "late", "invalid")


def drift_report_record(
    *,
    evaluated_at_ms: int,
    model_version: str,
    group_id: str,
    instance: str,
    n_seen: int,
    data: Mapping[str, Any],
    concept: Mapping[str, Any] | None,
    labels: Mapping[str, int],
) -> dict[str, Any]:
    """The record of one evaluation; `labels` lacking an outcome count it 0."""
    return {
        "evaluated_at": evaluated_at_ms,
        "model_version": model_version,
        "group_id": group_id,
        "instance": instance,
        "n_seen": n_seen,
        "data": dict(data),
        "concept": None if concept is None else dict(concept),
        "labels": {k: int(labels.get(k, 0)) for k in LABEL_OUTCOMES},
    }


def encode_drift_report(record: Mapping[str, Any]) -> bytes:
    """The value of one drift-report record."""
    return orjson.dumps(record)
