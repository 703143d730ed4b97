"""demo.closing: the loop's timeline and MAE from synthetic reports and announcements."""

from __future__ import annotations

from typing import Any

from demo.closing import closing_act

START = 1_000_000


def report(at_s: float, version: str, *, matched: int, mae_ratio: float | None,
           concept_up: bool = False, changes: list[dict[str, Any]] | None = None,
           held_out: float = 300.0, instance: str = "c1") -> dict[str, Any]:
    at = START + int(at_s * 1000)
    return {
        "evaluated_at": at, "model_version": version, "instance": instance,
        "labels": {"matched": matched},
        "concept": {"mae_ratio": mae_ratio, "flag": {"drift_detected": concept_up}},
        "estimated": {"mae": held_out * 1.1, "mae_ratio": 1.1},
        "transitions": changes or [],
    }


def alarm(at_s: float) -> dict[str, Any]:
    return {"flag": "concept", "kind": "drift_started", "event": 10,
            "time": START + int(at_s * 1000)}


def announced(alias: str, version: str, at_s: float) -> dict[str, Any]:
    return {"alias": alias, "version": version, "announced_at": START + int(at_s * 1000),
            "reason": f"{alias} {version}"}


STORY = [
    report(10, "old", matched=0, mae_ratio=None),
    report(20, "old", matched=1000, mae_ratio=1.0),
    report(30, "old", matched=2000, mae_ratio=1.6, concept_up=True, changes=[alarm(29)]),
    report(40, "old", matched=3000, mae_ratio=1.8, concept_up=True),
    report(50, "new", matched=3500, mae_ratio=1.1, held_out=450.0),
    report(60, "new", matched=4500, mae_ratio=0.9, held_out=450.0),
]
ANNOUNCED = [
    announced("champion", "v0001", 1),  # the startup champion, before the alarm
    announced("challenger", "v0002", 38),
    announced("champion", "v0002", 45),
]


def test_the_timeline_of_a_closed_loop() -> None:
    act = closing_act(STORY, ANNOUNCED, START)
    assert act["complete"] is True
    assert (act["alarm_s"], act["candidate_s"], act["promotion_s"], act["swap_s"]) == (
        29.0, 38.0, 45.0, 50.0)
    assert act["alarm_to_swap_s"] == 21.0
    assert (act["model_before"], act["candidate"], act["promoted"], act["model_after"]) == (
        "old", "v0002", "v0002", "new")
    # before: the labels joined between the alarm and the swap, over the old held-out MAE
    assert act["mae_before"] == {"labels": 2000, "mae_ratio": 1.7, "mae": 510.0,
                                 "held_out_mae": 300.0}
    # after: over the new model's own held-out MAE
    assert act["mae_after"] == {"labels": 1500, "mae_ratio": round((1.1 * 500 + 0.9 * 1000)
                                                                   / 1500, 3),
                                "mae": round((1.1 * 500 + 0.9 * 1000) / 1500 * 450, 1),
                                "held_out_mae": 450.0}
    assert act["concept_flag_at_end"] is False


def test_no_alarm_no_act() -> None:
    act = closing_act(STORY[:2], ANNOUNCED, START)
    assert act["complete"] is False and act["alarm_s"] is None


def test_a_challenger_that_never_won_leaves_the_act_incomplete() -> None:
    act = closing_act(STORY[:4], ANNOUNCED[:2], START)
    assert act["complete"] is False
    assert act["candidate_s"] == 38.0 and act["promotion_s"] is None and act["swap_s"] is None


def test_every_replica_must_swap() -> None:
    two = [*STORY, report(55, "old", matched=100, mae_ratio=1.7, instance="c2")]
    assert closing_act(two, ANNOUNCED, START)["swap_s"] is None
    two.append(report(58, "new", matched=200, mae_ratio=1.0, instance="c2"))
    assert closing_act(two, ANNOUNCED, START)["swap_s"] == 58.0
