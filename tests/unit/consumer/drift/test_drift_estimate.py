"""Label-free performance estimation in the consumer: every committed batch through the
estimator, its gauges, its flag's transitions (counted, reported at once) and the report's
``estimated`` field; null and NaN without a loss model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry
from test_drift_observer import (
    WALL,
    Clock,
    RecordingPublisher,
    detectors,
    diamonds,
    make_observer,
    meta_for,
    price,
    profile,
)

from common.contracts import drift_reports as dr
from consumer.drift import (
    DataFeed,
    DriftMetrics,
    DriftObserver,
    EstimateFeed,
    EvaluationSchedule,
    Evaluator,
    build_estimator,
)
from consumer.settings import ConsumerSettings
from drift import EstimationReference, PerformanceEstimator, SequentialMonitor
from drift.estimation import FLAG
from model.artifact import Estimation

__all__ = ["detectors", "profile"]  # the observer tests' fixtures, shared

SHARE = 0.08  # the fake loss model: the absolute error is 8 % of the predicted price


class PriceShareLoss:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return SHARE * frame["prediction"].to_numpy(dtype=np.float64)


@pytest.fixture(scope="module")
def reference() -> EstimationReference:
    rng = np.random.default_rng(5)
    estimated = SHARE * price(diamonds(rng, 5000))
    realized = np.abs(rng.normal(0.0, estimated * math.sqrt(math.pi / 2)))
    return EstimationReference.build(estimated, realized, windows=20)


def with_estimate(profile, detectors, reference):
    """`make_observer`'s observer with an estimate feed (same clocks, registry, publisher)."""
    observer, registry, clock, publisher, wall = make_observer(profile, detectors, labels=False)
    metrics = observer.evaluator.metrics
    estimate = EstimateFeed(PerformanceEstimator(reference, PriceShareLoss()),
                            on_transition=metrics.count_transition, wall=wall)
    evaluator = Evaluator(observer.feed, metrics, estimate=estimate, publisher=publisher,
                          wall=wall)
    observer = DriftObserver(observer.feed, evaluator, observer.schedule, estimate=estimate)
    return observer, registry, publisher


def feed(observer: DriftObserver, frame: pd.DataFrame) -> None:
    observer.on_batch(frame, price(frame), meta_for([f"e-{i}" for i in range(len(frame))]))
    observer.after_batch()


def test_series_exist_before_the_first_report(profile, detectors, reference) -> None:
    _, registry, _ = with_estimate(profile, detectors, reference)
    value = registry.get_sample_value
    assert value("diamond_estimated_drift_detected") == 0
    assert value("diamond_estimated_drift_threshold") > 5  # nats, ERT 3e9
    for name in ("diamond_estimated_mae", "diamond_estimated_rmse",
                 "diamond_estimated_mae_ratio"):
        assert math.isnan(value(name))  # nothing estimated yet
    for kind in dr.TRANSITION_KINDS:
        assert value("diamond_drift_transitions_total", {"flag": FLAG, "kind": kind}) == 0


def test_quiet_batches_are_estimated_and_reported(profile, detectors, reference) -> None:
    observer, registry, publisher = with_estimate(profile, detectors, reference)
    rng = np.random.default_rng(6)
    frame = diamonds(rng, 2000)
    feed(observer, frame)
    record = observer.evaluate()
    sampled = frame.iloc[::4]  # every 4th event of the stream is estimated
    expected = float(np.mean(SHARE * price(sampled)))
    value = registry.get_sample_value
    assert value("diamond_estimated_mae") == pytest.approx(expected)
    assert value("diamond_estimated_mae_ratio") == pytest.approx(expected / reference.mae)
    assert value("diamond_estimated_rmse") == pytest.approx(
        math.sqrt(reference.kappa * np.mean((SHARE * price(sampled)) ** 2))
    )
    assert value("diamond_estimated_drift_detected") == 0
    assert tuple(record["estimated"]) == dr.ESTIMATED_FIELDS
    assert record["estimated"]["n_events"] == 500
    assert record["estimated"]["mae"] == pytest.approx(expected)
    assert record["estimated"]["mae_low"] < expected < record["estimated"]["mae_high"]
    assert publisher.records[-1] is record


def test_heavier_stones_raise_the_flag_at_once(profile, detectors, reference) -> None:
    observer, registry, publisher = with_estimate(profile, detectors, reference)
    rng = np.random.default_rng(7)
    for _ in range(20):
        feed(observer, diamonds(rng, 500, carat_scale=1.6))  # estimated MAE x1.6
        if publisher.records:
            break
    record = publisher.records[-1]  # published right after the batch that raised it
    raised = [t for t in record["transitions"] if t["flag"] == FLAG]
    assert [t["kind"] for t in raised] == ["drift_started"]
    assert raised[0]["time"] == int(WALL * 1000)
    assert record["estimated"]["flag"]["drift_detected"] is True
    assert record["estimated"]["mae_ratio"] > 1.4
    value = registry.get_sample_value
    assert value("diamond_estimated_drift_detected") == 1
    assert value("diamond_drift_transitions_total", {"flag": FLAG, "kind": "drift_started"}) == 1
    observer.reset(profile, model_version="hgb-next")
    assert value("diamond_estimated_drift_detected") == 0
    assert observer.estimate is not None and observer.estimate.estimator.n_seen == 0


def test_without_a_loss_model_estimated_is_null_and_nan(profile, detectors) -> None:
    observer, registry, _, _, _ = make_observer(profile, detectors, labels=False)
    assert observer.evaluate()["estimated"] is None
    assert math.isnan(registry.get_sample_value("diamond_estimated_mae"))
    assert registry.get_sample_value("diamond_estimated_drift_detected") == 0


@dataclass(frozen=True)
class Model:
    estimation: Any = None
    version: str = "m-1"


def test_build_estimator_follows_the_artifact(reference, caplog) -> None:
    settings = ConsumerSettings(drift_gamma=1e6)
    caplog.set_level("INFO", logger="consumer")
    assert build_estimator(settings, Model()) is None
    assert "performance estimation is off" in caplog.text
    estimator = build_estimator(settings, Model(Estimation(PriceShareLoss(), reference)))
    assert isinstance(estimator, PerformanceEstimator) and estimator.gamma == 1e6


def test_the_loss_model_predicts_per_1024_sampled_events_and_before_a_report(
    profile, reference
) -> None:
    calls: list[int] = []

    class Counting(PriceShareLoss):
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            calls.append(len(frame))
            return super().predict(frame)

    metrics = DriftMetrics(CollectorRegistry(), profile.features)
    data = DataFeed(SequentialMonitor(profile, calibrate=False))
    estimate = EstimateFeed(PerformanceEstimator(reference, Counting()))
    schedule = EvaluationSchedule(eval_interval=60, eval_every=10**6, clock=Clock())
    observer = DriftObserver(data, Evaluator(data, metrics, estimate=estimate,
                                             publisher=RecordingPublisher()), schedule,
                             estimate=estimate)
    rng = np.random.default_rng(9)
    for n in (300, 700):
        feed(observer, diamonds(rng, n))
    assert calls == []  # 75 + 175 sampled events (every 4th) wait
    observer.evaluate()
    assert calls == [250]  # estimated before the report
    feed(observer, diamonds(rng, 5000))
    assert calls == [250, 1250]


def test_a_new_models_estimator_replaces_the_old_one(profile, detectors, reference) -> None:
    observer, registry, _ = with_estimate(profile, detectors, reference)
    assert observer.estimate is not None
    old = observer.estimate.estimator
    new = PerformanceEstimator(reference, PriceShareLoss())
    observer.reset(profile, model_version="hgb-next", estimator=new)
    assert observer.estimate.estimator is new and observer.estimate.estimator is not old
    assert observer.evaluator.estimate is observer.estimate
    observer.reset(profile, model_version="hgb-older", estimator=None)  # a model without one
    assert observer.estimate is None and observer.evaluator.estimate is None
    assert observer.evaluate()["estimated"] is None
    observer.reset(profile, model_version="hgb-again", estimator=new)  # and back
    assert observer.estimate is not None and observer.evaluator.estimate is observer.estimate
