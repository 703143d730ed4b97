"""The promotion rule: the challenger against the champion on live labels. Pure (numpy, scipy).

`LiveComparison` keeps both models' absolute errors on the same labelled events (labels that
arrived after the challenger was registered: never trained on), the last `window` pairs.
`decide` applies `PromotionRule`:

* promote when ``n >= min_labels`` and ``mae(challenger) <= mae(champion) * (1 - margin)``
  and a one-sided paired t-test on the per-event differences ``|e_champion| - |e_challenger|``
  says the challenger is better (p < alpha);
* withdraw when it loses clearly: ``n >= min_labels``, ``mae(challenger) >= mae(champion) *
  (1 + margin)`` and the mirrored test says it is worse (p < alpha); or when `timeout_s` passed
  without a decision;
* wait otherwise.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import stats

DECISIONS: tuple[str, ...] = ("promote", "withdraw", "wait")


@dataclass(frozen=True)
class PromotionRule:
    min_labels: int = 500
    margin: float = 0.05
    alpha: float = 0.05
    timeout_s: float = 1800.0

    def __post_init__(self) -> None:
        if self.min_labels < 2:
            raise ValueError(f"min_labels must be >= 2, got {self.min_labels}")
        if not 0 <= self.margin < 1:
            raise ValueError(f"margin must be in [0, 1), got {self.margin}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


@dataclass(frozen=True)
class Decision:
    kind: str  # one of DECISIONS
    reason: str


class LiveComparison:
    """Paired absolute errors of the champion and the challenger, the last `window` events."""

    def __init__(self, *, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be >= 2, got {window}")
        self.window = window
        self._champion: deque[float] = deque(maxlen=window)
        self._challenger: deque[float] = deque(maxlen=window)

    def __len__(self) -> int:
        return len(self._champion)

    def add(self, truth: np.ndarray, champion: np.ndarray, challenger: np.ndarray) -> None:
        """One batch: the true prices and both models' predictions of the same events."""
        self._champion.extend(np.abs(np.asarray(truth) - np.asarray(champion)).tolist())
        self._challenger.extend(np.abs(np.asarray(truth) - np.asarray(challenger)).tolist())

    def maes(self) -> tuple[float, float]:
        """(champion MAE, challenger MAE); NaN before any pair."""
        if not self._champion:
            return float("nan"), float("nan")
        return float(np.mean(self._champion)), float(np.mean(self._challenger))

    def differences(self) -> np.ndarray:
        """|e_champion| - |e_challenger| per event: > 0 where the challenger did better."""
        return np.asarray(self._champion) - np.asarray(self._challenger)


def better_p_value(differences: np.ndarray) -> float:
    """One-sided paired t-test p-value that the mean difference is > 0."""
    if len(differences) < 2:
        return 1.0
    if np.ptp(differences) == 0:  # no variance: the sign says it all
        return 0.0 if differences[0] > 0 else 1.0
    return float(stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue)


def decide(comparison: LiveComparison, rule: PromotionRule, *, elapsed_s: float) -> Decision:
    """Promote, withdraw or wait (see the module docstring)."""
    n = len(comparison)
    champion, challenger = comparison.maes()
    scores = f"challenger MAE {challenger:.1f} vs champion {champion:.1f} on {n} live labels"
    if n >= rule.min_labels:
        diffs = comparison.differences()
        if challenger <= champion * (1 - rule.margin):
            p = better_p_value(diffs)
            if p < rule.alpha:
                return Decision("promote", f"{scores}: better by > {rule.margin:.0%} "
                                           f"(paired t-test p={p:.2g})")
        elif challenger >= champion * (1 + rule.margin):
            p = better_p_value(-diffs)
            if p < rule.alpha:
                return Decision("withdraw", f"{scores}: worse by > {rule.margin:.0%} "
                                            f"(paired t-test p={p:.2g})")
    if elapsed_s >= rule.timeout_s:
        return Decision("withdraw", f"no decision within {rule.timeout_s:g} s: {scores}")
    return Decision("wait", scores)
