"""Fault injection for the chaos runs (`python -m tests.chaos`); off unless CONSUMER_FAULT is set.

    CONSUMER_FAULT="<point>:<action>[@<n>]"     e.g. "before_commit:kill@3"

The spec is the settings field `ConsumerSettings.fault` (so env CONSUMER_FAULT, checked with
the other settings at start); the service builds the injector with `FaultInjector.from_spec`
and hands it to its sink (`consumer.edge.delivery`), which calls `at(point, records)`.

Points, in the order a batch reaches them inside the sink:

===============  ==========================================================================
point            state of the batch
===============  ==========================================================================
before_produce   scored, nothing written yet
in_transaction   outputs handed to the producer; exactly-once: the transaction is open and
                 holds no offsets yet; at-least-once: outputs not yet acknowledged
before_commit    exactly-once: offsets added to the transaction, commit_transaction not
                 called; at-least-once: outputs acknowledged, offsets not committed
after_commit     committed
===============  ==========================================================================

Actions: ``kill`` SIGKILLs this process the n-th time the point is reached (default n=1);
``sleep=S`` sleeps S seconds and ``sleep_per_event=S`` S seconds per record of the batch (a
slow model), each time from the n-th on.

For fault-injection tests only; costs one `is None` check per batch when unset.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import time

log = logging.getLogger(__name__)

ENV_VAR = "CONSUMER_FAULT"
POINTS = ("before_produce", "in_transaction", "before_commit", "after_commit")
_SPEC = re.compile(r"^(\w+):(kill|sleep|sleep_per_event)(?:=([0-9.]+))?(?:@([0-9]+))?$")


class FaultInjector:
    """One fault at one point; `at(point, records)` is called by the sinks."""

    def __init__(self, point: str, action: str, seconds: float = 0.0, nth: int = 1) -> None:
        if point not in POINTS:
            raise ValueError(f"{ENV_VAR}: unknown point {point!r}; expected one of {POINTS}")
        if nth < 1:
            raise ValueError(f"{ENV_VAR}: @n must be >= 1, got {nth}")
        self.point, self.action, self.seconds, self.nth = point, action, seconds, nth
        self.hits = 0

    @classmethod
    def parse(cls, spec: str) -> FaultInjector | None:
        """The injector `spec` describes (None when blank); ValueError naming the format."""
        spec = spec.strip()
        if not spec:
            return None
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(
                f"{ENV_VAR}={spec!r} is not '<point>:<action>[=S][@n]' with action kill, "
                "sleep=S or sleep_per_event=S"
            )
        point, action, seconds, nth = match.groups()
        return cls(point, action, float(seconds or 0), int(nth or 1))

    @classmethod
    def from_spec(cls, spec: str) -> FaultInjector | None:
        """`parse`, and a loud warning when a fault is armed."""
        injector = cls.parse(spec)
        if injector is not None:
            log.warning("FAULT INJECTION ENABLED (%s=%s): for tests only", ENV_VAR, spec.strip())
        return injector

    def at(self, point: str, records: int) -> None:
        if point != self.point:
            return
        self.hits += 1
        if self.hits < self.nth:
            return
        if self.action == "kill":
            if self.hits == self.nth:
                log.warning("fault injection: SIGKILL at %s (hit %d)", point, self.hits)
                os.kill(os.getpid(), signal.SIGKILL)
        elif self.action == "sleep":
            time.sleep(self.seconds)
        else:
            time.sleep(self.seconds * records)
