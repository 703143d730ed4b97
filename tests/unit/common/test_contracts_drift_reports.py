"""The drift-report contract: the record's fields, and the `drift` package's nested reports, the
consumer's timed transitions and its label outcomes agree with it (drift itself never imports
the contract)."""

from __future__ import annotations

import json
import math
from typing import Any

from common.contracts import drift_reports as dr
from consumer.drift import LabelCounts, report_record
from consumer.drift.feed import transition_record
from drift import ConceptState, FlagState, SequentialReport, Transition
from drift.sequential import ENDED, STARTED

NAN = math.nan


def flag(name: str, up: bool = False) -> FlagState:
    return FlagState(name, up, NAN if not up else 3.5, 21.5, "location+0.4" if up else "",
                     120 if up else None, NAN)


TRANSITIONS = (
    Transition(STARTED, "carat", 120, "location+0.4", 22.1),
    Transition(STARTED, "dataset", 120, "carat", 22.1),
)
DATA = SequentialReport(
    features={"carat": flag("carat", True), "depth": flag("depth")},
    prediction=flag("prediction"), dataset=flag("dataset", True), transitions=TRANSITIONS,
    n_seen=500, gamma=3e9,
)
CONCEPT = ConceptState(flag=flag("concept"), transitions=(), n_labels=0, mae_ratio=NAN,
                       gamma=3e9)


def test_the_drift_package_reports_have_the_contract_fields() -> None:
    data = DATA.to_dict()
    assert set(dr.DATA_FIELDS) <= set(data)
    for state in (*data["features"].values(), data["prediction"], data["dataset"]):
        assert tuple(state) == dr.FLAG_FIELDS
    concept = CONCEPT.to_dict()
    assert set(dr.CONCEPT_FIELDS) <= set(concept)
    assert tuple(concept["flag"]) == dr.FLAG_FIELDS
    assert set(dr.TRANSITION_KINDS) == {STARTED, ENDED}


def test_the_consumer_transitions_have_the_contract_fields() -> None:
    record = transition_record(TRANSITIONS[0], 1_767_225_600_123)
    assert tuple(record) == dr.TRANSITION_FIELDS
    assert record == {"flag": "carat", "kind": "drift_started", "statistic": 22.1,
                      "detector": "location+0.4", "event": 120, "time": 1_767_225_600_123}


def test_the_label_outcomes_are_the_consumer_label_counts() -> None:
    assert tuple(LabelCounts().as_dict()) == dr.LABEL_OUTCOMES


def test_the_record_has_the_contract_fields_and_no_nan() -> None:
    transitions = [transition_record(t, 5) for t in TRANSITIONS]
    record = dr.drift_report_record(
        evaluated_at_ms=5, model_version="m", group_id="g", instance="i", n_seen=500,
        data=DATA.to_dict(), concept=CONCEPT.to_dict(), transitions=transitions,
        labels={"matched": 2, "other": 9},
    )
    assert tuple(record) == dr.REPORT_FIELDS
    assert tuple(record["data"]) == dr.DATA_FIELDS  # the library's transitions are not kept
    assert tuple(record["concept"]) == dr.CONCEPT_FIELDS
    assert [tuple(t) for t in record["transitions"]] == [dr.TRANSITION_FIELDS] * 2
    assert record["labels"] == {"received": 0, "matched": 2, "unmatched": 0, "late": 0,
                                "invalid": 0}
    body = json.loads(dr.encode_drift_report(record))  # the wire bytes are strict JSON
    assert body == json.loads(json.dumps(record, allow_nan=False))
    assert body["concept"]["mae_ratio"] is None
    assert body["data"]["features"]["depth"]["statistic"] is None
    assert body["data"]["features"]["carat"]["since"] == 120


def test_the_consumer_assembles_the_contract_record() -> None:
    transitions = [transition_record(t, 5) for t in TRANSITIONS]
    kwargs: dict[str, Any] = {
        "evaluated_at_ms": 5, "model_version": "m", "group_id": "g", "instance": "i",
        "labels": {"late": 1}, "transitions": transitions,
    }
    assert report_record(data=DATA, concept=None, **kwargs) == dr.drift_report_record(
        data=DATA.to_dict(), concept=None, n_seen=500, **kwargs
    )


def test_the_estimate_has_the_contract_fields_and_old_fields_keep_their_bytes() -> None:
    from drift import EstimatedPerformance

    estimated = EstimatedPerformance(
        n_events=10, n_seen=10, mae=250.0, rmse=400.0, mae_ratio=1.25, rmse_ratio=1.3,
        mae_low=200.0, mae_high=300.0, flag=flag("estimated_performance"), transitions=(),
        gamma=3e9,
    )
    assert set(dr.ESTIMATED_FIELDS) <= set(estimated.to_dict())
    transitions = [transition_record(t, 5) for t in TRANSITIONS]
    kwargs: dict[str, Any] = {
        "evaluated_at_ms": 5, "model_version": "m", "group_id": "g", "instance": "i",
        "labels": {}, "transitions": transitions, "data": DATA, "concept": CONCEPT,
    }
    without = dr.encode_drift_report(report_record(**kwargs))
    with_estimate = dr.encode_drift_report(report_record(**kwargs, estimated=estimated))
    # the new field comes last: every byte before it is the record without an estimate
    assert without.endswith(b',"estimated":null}')
    prefix = without[: -len(b'null}')]
    assert with_estimate.startswith(prefix)
    body = json.loads(with_estimate)
    assert tuple(body) == dr.REPORT_FIELDS and tuple(body["estimated"]) == dr.ESTIMATED_FIELDS
    assert tuple(body["estimated"]["flag"]) == dr.FLAG_FIELDS
    assert body["estimated"]["mae_ratio"] == 1.25
