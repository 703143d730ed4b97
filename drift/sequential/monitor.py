"""`SequentialMonitor`: data and prediction drift flags, every event, with a stated ERT.

Each feature (and the prediction, when the profile has its reference) gets a `DriftFlag` whose
bank threshold is calibrated for an expected run time without drift of `gamma` events per flag
(`drift.sequential.calibrate`); ``calibrate=False`` uses the union bound ``h = log(K * gamma)``
instead, which guarantees at most ``1 / gamma`` false alarms per event (`drift.sequential.bank`)
and in practice gives an ERT ~K times longer. The dataset flag is up while any feature flag is
up; its false alarm rate is at most the sum of the features' (``n_features / gamma`` per event).

Every row passed to `update` goes through the detectors (the banks in blocks of `BLOCK`
events of the stream, see `drift.sequential.bank`), so the event that raises or clears a flag
is the same whatever the batch size; `evaluate` only reads the states and hands over the
transitions since the previous call.

The references are estimates from finite samples: each CUSUM gives up an allowance of
`tolerance` standard errors of its reference (`drift.sequential.plan`). By default the
features' reference counts as ``1 / (1/n_train + 1/n_holdout)`` rows: the project's producer
replays the held-out rows, a finite sample whose own error adds to the training reference's.
For live data drawn afresh from the population, ``reference_size=profile.n_reference`` detects
a little faster. With the default tolerance and reference sizes, the calibration constants come
from the profile (measured at training time); other settings are simulated at construction.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from drift.exceptions import MissingColumnError
from drift.profile import PREDICTION, ReferenceProfile
from drift.sequential import calibrate as calibration
from drift.sequential.binning import Binned
from drift.sequential.flag import ENDED, STARTED, DriftFlag, Transition
from drift.sequential.plan import (
    TOLERANCE,
    feature_bins,
    feature_reference_size,
    prediction_bins,
    prediction_reference_size,
    slack_for,
    stored_constants,
)
from drift.sequential.report import FlagState, SequentialReport

GAMMA = 3e9  # events: < 1 false flag per feature per week at 5,000 events/s
CLEAR_GAMMA = 1e6  # events a drift that persists takes to be falsely cleared (at least)
DATASET = "dataset"


def make_flag(
    binned: Binned, gamma: float, clear_gamma: float, slack: float, calibrate_h: bool,
    profile: ReferenceProfile,
) -> DriftFlag:
    """A flag whose bank has the calibrated ``h`` (or the union bound ``log(K * gamma)``)."""
    if calibrate_h:
        c = calibration.bank_constant(
            binned.name, binned.p0, binned.directions, slack, stored_constants(profile)
        )
        h = calibration.calibrated_h(binned.p0, binned.directions, gamma, c)
    else:
        h = math.log(sum(len(d.thetas) for d in binned.directions) * gamma)
    return DriftFlag(
        binned.name, binned.p0, binned.directions, h=h, clear_h=math.log(clear_gamma),
        slack=slack,
    )


def flag_state(flag: DriftFlag) -> FlagState:
    return FlagState(
        flag=flag.name, drift_detected=flag.drifting, statistic=flag.statistic,
        threshold=flag.threshold, detector=flag.detector, since=flag.since,
        expected_clear_events=flag.expected_clear_events,
    )


def check_gammas(gamma: float, clear_gamma: float) -> None:
    if not gamma > 1:
        raise ValueError(f"gamma must be > 1 (events), got {gamma}")
    if not clear_gamma > 1:
        raise ValueError(f"clear_gamma must be > 1 (events), got {clear_gamma}")


class SequentialMonitor:
    """Per-event drift flags for the features and predictions of a `ReferenceProfile`."""

    def __init__(
        self, profile: ReferenceProfile, *, gamma: float = GAMMA, clear_gamma: float = CLEAR_GAMMA,
        tolerance: float = TOLERANCE, reference_size: int | None = None, calibrate: bool = True,
    ) -> None:
        check_gammas(gamma, clear_gamma)
        self.profile = profile
        self.gamma = gamma
        self.clear_gamma = clear_gamma
        self.tolerance = tolerance
        self.reference_size = (
            feature_reference_size(profile) if reference_size is None else reference_size
        )
        slack = slack_for(tolerance, self.reference_size)
        binned = feature_bins(profile)
        self._binned = {b.name: b for b in binned}
        self.calibrate = calibrate
        self.features = {
            b.name: make_flag(b, gamma, clear_gamma, slack, calibrate, profile) for b in binned
        }
        self._pred_binned = prediction_bins(profile)
        self.prediction = None if self._pred_binned is None else make_flag(
            self._pred_binned, gamma, clear_gamma,
            slack_for(tolerance, prediction_reference_size(profile)), calibrate, profile,
        )
        self.reset()

    @property
    def n_seen(self) -> int:
        return self._n_seen

    def reset(self) -> None:
        """Lower every flag and restart every statistic (a new model or profile)."""
        for flag in self._flags():
            flag.reset()
        self._n_seen = 0
        self._n_pred = 0
        self._pending: list[Transition] = []
        self._dataset_since: int | None = None
        self._dataset_detector = ""

    def update(self, frame: pd.DataFrame) -> list[Transition]:
        """Run the rows of `frame` through every flag; the transitions they caused, in order."""
        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise MissingColumnError(f"frame lacks profiled column(s) {missing}")
        m = len(frame)
        if m == 0:
            return []
        new: list[Transition] = []
        for name, flag in self.features.items():
            new += flag.update(self._binned[name].encode(frame[name]), self._n_seen)
        new.sort(key=lambda t: t.event)
        new = self._with_dataset(new)
        if self.prediction is not None and self._pred_binned and PREDICTION in frame.columns:
            values = frame[PREDICTION].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            new += self.prediction.update(self._pred_binned.encode(values), self._n_seen)
        self._n_seen += m
        self._pending += new
        return new

    def evaluate(self) -> SequentialReport:
        """The state of every flag and the transitions since the previous `evaluate`."""
        transitions = tuple(sorted(self._pending, key=lambda t: t.event))
        self._pending = []
        features = {name: flag_state(flag) for name, flag in self.features.items()}
        up = [s for s in features.values() if s.drift_detected]
        dataset = FlagState(
            flag=DATASET, drift_detected=bool(up),
            statistic=max(s.statistic / s.threshold for s in features.values()),
            threshold=1.0, detector=self._dataset_detector, since=self._dataset_since,
            expected_clear_events=max((s.expected_clear_events for s in up), default=math.nan),
        )
        return SequentialReport(
            features=features,
            prediction=None if self.prediction is None else flag_state(self.prediction),
            dataset=dataset, transitions=transitions, n_seen=self._n_seen, gamma=self.gamma,
        )

    def _flags(self) -> list[DriftFlag]:
        return [*self.features.values(), *([self.prediction] if self.prediction else [])]

    def _with_dataset(self, ordered: list[Transition]) -> list[Transition]:
        """Feature transitions plus the dataset's: up from the first feature up to the last down."""
        up = sum(flag.drifting for flag in self.features.values())
        for t in reversed(ordered):  # back to the count before this batch
            up += -1 if t.kind == STARTED else 1
        out: list[Transition] = []
        for t in ordered:
            out.append(t)
            before, up = up, up + (1 if t.kind == STARTED else -1)
            if before == 0 and up == 1:
                self._dataset_since, self._dataset_detector = t.event, t.flag
                out.append(Transition(STARTED, DATASET, t.event, t.flag, t.statistic))
            elif before == 1 and up == 0:
                out.append(Transition(ENDED, DATASET, t.event, t.flag, t.statistic))
                self._dataset_since, self._dataset_detector = None, ""
        return out
