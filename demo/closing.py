"""The closing act in numbers: alarm -> candidate -> promotion -> swap, and the MAE around it.

Pure functions over the drift-report records (`demo.summary.Record`) and the model
announcements read back from the models topic (`common.contracts.models`: dicts with ``alias``,
``version``, ``announced_at``; tombstones left out):

* **alarm**: the first concept ``drift_started`` (its batch's time);
* **candidate**: the first challenger announced after the alarm (the retrainer trained on the
  recent labelled events and registered it);
* **promotion**: the first champion announced after that candidate with another version than the
  one serving at the alarm (the challenger won in shadow on live labels);
* **swap**: each consumer instance's first report scored by the new model (``model_version``
  changed), the last of them when there are several (every replica has swapped).

Times are seconds since the story started. The realized MAE before the swap is that of the labels
joined between the alarm and the swap, after it that of the labels joined after the swap, both
from the reports' concept ``mae_ratio`` weighted by the labels each joined. A ratio is over the
held-out MAE of the model that scored those events (each artifact's own reference: the new
model's is measured on the recent, shifted rows it held out), so "after" below its threshold
means the new model performs as well on the shifted stream as it did on its own held-out rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from demo.summary import STARTED, Record, _matched, sort_records, transitions

Announcement = dict[str, Any]


def _seconds(at_ms: float | None, started_ms: int) -> float | None:
    return None if at_ms is None else round((at_ms - started_ms) / 1000, 2)


def _first(items: Sequence[Announcement], alias: str, after_ms: float,
           other_than: str | None = None) -> Announcement | None:
    for a in sorted(items, key=lambda a: int(a.get("announced_at", 0))):
        if (a.get("alias") == alias and int(a.get("announced_at", 0)) >= after_ms
                and a.get("version") != other_than):
            return a
    return None


def _swap_ms(records: Sequence[Record], before: str, after_ms: float) -> float | None:
    """When the last instance published its first report with another model than `before`."""
    first: dict[Any, float] = {}
    instances = set()
    for r in sort_records(records):
        instances.add(r.get("instance"))
        at = int(r["evaluated_at"])
        if at >= after_ms and r.get("model_version") != before:
            first.setdefault(r.get("instance"), at)
    if not first or set(first) != instances:
        return None
    return max(first.values())


def _realized(records: Sequence[Record], start_ms: float, end_ms: float) -> dict[str, Any]:
    """MAE ratio of the labels joined in [start, end) (weighted), the held-out MAE it is over,
    and how many labels."""
    matched: dict[Any, int] = {}
    pairs: list[tuple[float, int]] = []
    reference = None
    for r in sort_records(records):
        instance, now = r.get("instance"), _matched(r)
        joined, matched[instance] = max(now - matched.get(instance, 0), 0), now
        at = int(r["evaluated_at"])
        if not start_ms <= at < end_ms:
            continue
        ratio = (r.get("concept") or {}).get("mae_ratio")
        if isinstance(ratio, int | float) and joined > 0:
            pairs.append((float(ratio), joined))
        estimated = r.get("estimated") or {}
        mae, est_ratio = estimated.get("mae"), estimated.get("mae_ratio")
        if isinstance(mae, int | float) and isinstance(est_ratio, int | float) and est_ratio > 0:
            reference = mae / est_ratio  # the held-out MAE both ratios are over
    labels = sum(w for _, w in pairs)
    ratio = sum(v * w for v, w in pairs) / labels if labels else None
    return {
        "labels": labels,
        "mae_ratio": None if ratio is None else round(ratio, 3),
        "mae": None if ratio is None or reference is None else round(ratio * reference, 1),
        "held_out_mae": None if reference is None else round(reference, 1),
    }


def closing_act(records: Sequence[Record], announcements: Sequence[Announcement],
                started_ms: int) -> dict[str, Any]:
    """The loop's timeline and MAE (see the module docstring); ``complete`` says whether every
    step happened."""
    ordered = sort_records(records)
    alarm = next((t for t in transitions(ordered)
                  if t["flag"] == "concept" and t["kind"] == STARTED), None)
    out: dict[str, Any] = {"complete": False, "alarm_s": None, "candidate_s": None,
                           "promotion_s": None, "swap_s": None}
    if alarm is None:
        return out
    alarm_ms = alarm["time"]
    before = next((r.get("model_version") for r in reversed(ordered)
                   if int(r["evaluated_at"]) <= alarm_ms), None)
    if before is None and ordered:
        before = ordered[0].get("model_version")
    out.update(alarm_s=_seconds(alarm_ms, started_ms), model_before=before)
    candidate = _first(announcements, "challenger", alarm_ms)
    if candidate is not None:
        out.update(candidate_s=_seconds(candidate["announced_at"], started_ms),
                   candidate=candidate.get("version"))
    promotion = (None if candidate is None else
                 _first(announcements, "champion", candidate["announced_at"]))
    if promotion is not None:
        out.update(promotion_s=_seconds(promotion["announced_at"], started_ms),
                   promoted=promotion.get("version"), promotion_reason=promotion.get("reason"))
    swap_ms = (None if promotion is None or before is None
               else _swap_ms(ordered, before, promotion["announced_at"]))
    if swap_ms is not None:
        after_version = next(r.get("model_version") for r in ordered
                             if int(r["evaluated_at"]) == swap_ms)
        last = ordered[-1]
        concept_up = bool((((last.get("concept") or {}).get("flag")) or {})
                          .get("drift_detected"))
        out.update(
            swap_s=_seconds(swap_ms, started_ms), model_after=after_version,
            alarm_to_swap_s=round((swap_ms - alarm_ms) / 1000, 2),
            mae_before=_realized(ordered, alarm_ms, swap_ms),
            mae_after=_realized(ordered, swap_ms, float("inf")),
            concept_flag_at_end=concept_up,
        )
        out["complete"] = True
    return out
