"""Drift reports: one JSON record per report, key = the consumer instance's id.

A report is published every `drift_eval_interval` s / `drift_eval_every` events, and at once
after the committed batch in which a flag was raised or cleared::

    {"evaluated_at": 1767225600123,            epoch ms
     "model_version": "hgb-0123456789ab", "group_id": "diamond-scorer",
     "instance": "host-1234",                  the consumer process (also the record key)
     "n_seen": 120000,                         events through the detectors since start/reset
     "data": {...},                            the data flags: DATA_FIELDS
     "concept": {...} | null,                  the concept flag: CONCEPT_FIELDS; null: off
     "transitions": [{...}, ...],              flags changed since the previous report, in order
     "labels": {"received": 0, "matched": 0, "unmatched": 0, "late": 0, "invalid": 0},
     "estimated": {...} | null}               estimated performance: ESTIMATED_FIELDS; null: off

``data`` holds the data flags: ``features`` maps each input feature to a flag state
(the flag fields), ``prediction`` is one (or null: no prediction reference), ``dataset`` is one
(raised while any feature is); ``gamma`` is the configured expected run time without drift,
in events per flag. ``concept`` holds ``n_labels``, ``gamma``, ``mae_ratio`` (labels since the
previous report) and ``flag``, a flag state.

A flag state: ``drift_detected`` (the state), ``statistic`` and ``threshold`` (nats; the
detection pair while down, the clearing pair while up), ``detector`` (what raised it),
``since`` (the event index that raised it, or null) and ``expected_clear_events``.

A transition: ``flag`` (a feature, ``prediction``, ``dataset`` or ``concept``), ``kind``
(``drift_started`` / ``drift_ended``), ``statistic`` (nats), ``detector``, ``event`` (index
since start or reset; labels for ``concept``) and ``time`` (epoch ms at which its batch went
through the detectors, just after its commit).

``estimated`` (added last, so the fields before it keep their bytes) is the label-free
performance estimate over the events since the previous report: ``n_events``, ``gamma``,
``mae`` and ``rmse`` (estimated from the inputs by the loss model, before any label),
``mae_ratio`` and ``rmse_ratio`` (over the held-out values), ``mae_low`` / ``mae_high`` (a 95 %
band for the realized MAE, label noise only) and ``flag``, the ``estimated_performance`` flag
state (raised when the estimated MAE is materially above the reference, about 1.2x). It is
null when the model artifact has no loss model (older artifacts).

``labels`` counts every label by outcome. Statistics that cannot be computed are null,
never NaN.

The nested objects are the `to_dict()` of the `drift` package's reports (which stays pure and
knows nothing of Kafka) and the consumer's timed transitions; the consumer assembles the record
with `drift_report_record`. tests/unit/common/test_contracts_drift_reports.py checks that they
agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

REPORT_FIELDS: tuple[str, ...] = (
    "evaluated_at", "model_version", "group_id", "instance", "n_seen", "data", "concept",
    "transitions", "labels", "estimated",
)
DATA_FIELDS: tuple[str, ...] = ("n_seen", "gamma", "features", "prediction", "dataset")
FLAG_FIELDS: tuple[str, ...] = (
    "flag", "drift_detected", "statistic", "threshold", "detector", "since",
    "expected_clear_events",
)
CONCEPT_FIELDS: tuple[str, ...] = ("n_labels", "gamma", "mae_ratio", "flag")
ESTIMATED_FIELDS: tuple[str, ...] = (
    "n_events", "gamma", "mae", "rmse", "mae_ratio", "rmse_ratio", "mae_low", "mae_high", "flag",
)
TRANSITION_FIELDS: tuple[str, ...] = ("flag", "kind", "statistic", "detector", "event", "time")
TRANSITION_KINDS: tuple[str, ...] = ("drift_started", "drift_ended")
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
    transitions: Sequence[Mapping[str, Any]],
    labels: Mapping[str, int],
    estimated: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of one report. `data`, `concept` and `estimated` keep only their contract
    fields (the record carries all transitions, timed, at its top); `labels` lacking an outcome
    count 0."""
    return {
        "evaluated_at": evaluated_at_ms,
        "model_version": model_version,
        "group_id": group_id,
        "instance": instance,
        "n_seen": n_seen,
        "data": {k: data[k] for k in DATA_FIELDS},
        "concept": None if concept is None else {k: concept[k] for k in CONCEPT_FIELDS},
        "transitions": [{k: t[k] for k in TRANSITION_FIELDS} for t in transitions],
        "labels": {k: int(labels.get(k, 0)) for k in LABEL_OUTCOMES},
        "estimated": None if estimated is None else {k: estimated[k] for k in ESTIMATED_FIELDS},
    }


def encode_drift_report(record: Mapping[str, Any]) -> bytes:
    """The value of one drift-report record."""
    return orjson.dumps(record)
