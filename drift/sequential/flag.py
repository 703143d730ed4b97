"""`DriftFlag`: one drift flag with a lifecycle, raised by a `TiltBank`, cleared by a reverse test.

While the flag is down, the bank watches for a change; its first crossing raises the flag at
the event that completed the crossing block (`drift.sequential.bank`). While it is up, one
reverse CUSUM tests "back to the reference" against a post-change fit: the tilt that alarmed,
along the same direction, with half its theta (so a drift that persists at the size that was
detected keeps the reverse statistic near zero). Its increments ``-z`` are again exact log-
likelihood ratios, so a drift that persists at (or beyond) that fit is falsely cleared at most
once per ``exp(clear_h)`` events; data back at the reference clears the flag after about
``clear_h / KL(p0 || p_fit)`` events (`expected_clear_events`). A cleared flag restarts its
bank from zero.

With a reference noise allowance (`slack`, see `drift.sequential.bank`) the reverse test gives
up the same allowance, and its tilt is at least ``MIN_CLEAR_FACTOR * slack / sd0(g)`` so that
data back at the reference (within its noise) always clears the flag; a persisting drift
smaller than that may clear and be raised again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from drift.sequential.bank import Direction, TiltBank, increments, kl_from_reference, score_sd

Kind = Literal["drift_started", "drift_ended"]
STARTED: Final[Kind] = "drift_started"
ENDED: Final[Kind] = "drift_ended"
MIN_CLEAR_FACTOR = 4.0  # KL of the clearing tilt >= 2x its allowance: reference-like data clears


@dataclass(frozen=True)
class Transition:
    """A flag raised (`drift_started`) or cleared (`drift_ended`) at event `event`."""

    kind: Kind
    flag: str
    event: int  # index of the event since the monitor's construction or last reset
    detector: str  # bank member that alarmed (direction and theta), or the dataset rule
    statistic: float  # nats: the crossing statistic

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "flag": self.flag, "event": self.event,
            "detector": self.detector, "statistic": self.statistic,
        }


class DriftFlag:
    """Detection and clearing for one column; `update` returns the transitions of a batch."""

    def __init__(
        self, name: str, p0: np.ndarray, directions: tuple[Direction, ...], *, h: float,
        clear_h: float, clear_ratio: float = 0.5, slack: float = 0.0,
    ) -> None:
        if not clear_h > 0:
            raise ValueError(f"clear_h must be > 0, got {clear_h}")
        if not 0 < clear_ratio <= 1:
            raise ValueError(f"clear_ratio must be in (0, 1], got {clear_ratio}")
        self.name = name
        self.bank = TiltBank(p0, directions, h, slack=slack)
        self.clear_h = clear_h
        self.clear_ratio = clear_ratio
        self._scores = {d.name: d.scores for d in directions}
        self._thetas = [(d.name, t) for d in directions for t in d.thetas]
        self.reset()

    def reset(self) -> None:
        self.bank.reset()
        self.drifting = False
        self.detector = ""
        self.since: int | None = None
        self.expected_clear_events = math.nan
        self._reverse = np.zeros(0)
        self._w_clear = 0.0

    @property
    def statistic(self) -> float:
        """The bank's statistic while down; the reverse (clearing) statistic while up."""
        return self._w_clear if self.drifting else self.bank.statistic

    @property
    def threshold(self) -> float:
        return self.clear_h if self.drifting else self.bank.h

    def update(self, codes: np.ndarray, first_event: int) -> list[Transition]:
        """Absorb `codes` (event indices from `first_event`), switching state as needed."""
        out: list[Transition] = []
        start = 0
        while start < codes.size:
            rest = codes[start:]
            if not self.drifting:
                hit = self.bank.update(rest)
                if hit is None:
                    break
                i, member = hit
                out.append(self._raise(first_event + start + i, member))
            else:
                i_clear = self._clear_step(rest)
                if i_clear is None:
                    break
                i = i_clear
                out.append(Transition(ENDED, self.name, first_event + start + i, self.detector,
                                      self._w_clear))
                self.drifting, self._w_clear = False, 0.0
                self.bank.reset()
            start += i + 1
        return out

    def _raise(self, event: int, member: int) -> Transition:
        direction, theta = self._thetas[member]
        p0, scores = self.bank.p0, self._scores[direction]
        sd = score_sd(p0, scores)
        floor = MIN_CLEAR_FACTOR * self.bank.slack / sd if sd > 0 else 0.0
        theta_c = math.copysign(max(abs(theta) * self.clear_ratio, floor), theta)
        fit = increments(p0, scores, theta_c)
        allowance = abs(theta_c) * self.bank.slack * sd
        self._reverse = -fit - allowance
        self.expected_clear_events = self.clear_h / (kl_from_reference(p0, fit) - allowance)
        statistic = float(self.bank.w[member])
        self.drifting, self.detector, self.since = True, self.bank.names[member], event
        self._w_clear = 0.0
        return Transition(STARTED, self.name, event, self.detector, statistic)

    def _clear_step(self, codes: np.ndarray) -> int | None:
        z = self._reverse[codes]
        s = np.cumsum(z)
        path = s - np.minimum(np.minimum.accumulate(s), -self._w_clear)
        over = path >= self.clear_h
        if not over.any():
            self._w_clear = float(path[-1])
            return None
        i = int(np.argmax(over))
        self._w_clear = float(path[i])
        return i
