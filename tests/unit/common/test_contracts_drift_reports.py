"""The drift-report contract: the record's fields, and the `drift` package's nested reports and
the consumer's label outcomes agree with it (drift itself never imports the contract)."""

from __future__ import annotations

import json
import math
from typing import Any

from common.contracts import drift_reports as dr
from consumer.drift import LabelCounts, report_record
from drift import ConceptReport, DatasetDrift, DriftReport, FeatureDrift

NAN = math.nan


def feature(name: str) -> FeatureDrift:
    return FeatureDrift(name, "numeric", "ks", NAN, NAN, NAN, NAN, NAN, 0.1, False, 0)


DATA = DriftReport(
    features={"carat": feature("carat")}, prediction=feature("prediction"),
    dataset=DatasetDrift(1, 0, 0.0, False), n_rows=0, n_seen=0, effect="psi",
)
CONCEPT = ConceptReport(0, NAN, NAN, 1.0, 2.0, NAN, NAN, "page_hinkley", False, 0, False)


def test_the_drift_package_reports_have_the_contract_fields() -> None:
    data = DATA.to_dict()
    assert tuple(data) == dr.DATA_FIELDS
    assert tuple(data["features"]["carat"]) == dr.FEATURE_DRIFT_FIELDS
    assert tuple(data["prediction"]) == dr.FEATURE_DRIFT_FIELDS
    assert tuple(data["dataset"]) == dr.DATASET_FIELDS
    assert tuple(CONCEPT.to_dict()) == dr.CONCEPT_FIELDS


def test_the_label_outcomes_are_the_consumer_label_counts() -> None:
    assert tuple(LabelCounts().as_dict()) == dr.LABEL_OUTCOMES


def test_the_record_has_the_contract_fields_and_no_nan() -> None:
    record = dr.drift_report_record(
        evaluated_at_ms=5, model_version="m", group_id="g", instance="i", n_seen=3,
        data=DATA.to_dict(), concept=CONCEPT.to_dict(), labels={"matched": 2, "other": 9},
    )
    assert tuple(record) == dr.REPORT_FIELDS
    assert record["labels"] == {"received": 0, "matched": 2, "unmatched": 0, "late": 0,
                                "invalid": 0}
    body = json.loads(dr.encode_drift_report(record))  # the wire bytes are strict JSON
    assert body == json.loads(json.dumps(record, allow_nan=False))
    assert body["concept"]["mae"] is None and body["data"]["features"]["carat"]["psi"] is None


def test_the_consumer_assembles_the_contract_record() -> None:
    kwargs: dict[str, Any] = {
        "evaluated_at_ms": 5, "model_version": "m", "group_id": "g", "instance": "i",
        "n_seen": 3, "labels": {"late": 1},
    }
    assert report_record(data=DATA, concept=None, **kwargs) == dr.drift_report_record(
        data=DATA.to_dict(), concept=None, **kwargs
    )
