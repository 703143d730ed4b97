"""The result record: the keys of `latest.json`, the target checks and the printed table."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

# name -> (description, target text, value from the record, predicate)
Check = tuple[str, str, Callable[[dict[str, Any]], float | None], Callable[[float], bool]]


def _ratio(a: str, b: str) -> Callable[[dict[str, Any]], float | None]:
    def value(r: dict[str, Any]) -> float | None:
        x, y = r.get(a), r.get(b)
        return x / y if isinstance(x, int | float) and isinstance(y, int | float) and y else None

    return value


def _p99(r: dict[str, Any]) -> float | None:
    value = (r.get("latency_ms") or {}).get("p99")
    return value if isinstance(value, int | float) and not math.isnan(value) else None


def _curve_p99(guarantee: str, rate: float) -> Callable[[dict[str, Any]], float | None]:
    """p99 (ms) of the latency curve's point at `rate` in `guarantee`, if measured."""
    def value(r: dict[str, Any]) -> float | None:
        rows = (r.get("latency_curve") or {}).get(guarantee) or []
        for row in rows:
            if row.get("rate") == rate and isinstance(row.get("p99"), int | float) \
                    and not math.isnan(row["p99"]):
                return float(row["p99"])
        return None

    return value


CHECKS: dict[str, Check] = {
    "e2e_vs_ceiling": ("e2e / ceiling", ">= 0.5", _ratio("e2e_eps", "ceiling_eps"),
                       lambda v: v >= 0.5),
    "e2e_vs_naive": ("e2e / naive", ">= 100", _ratio("e2e_eps", "naive_eps"),
                     lambda v: v >= 100),
    "e2e_vs_drift_off": ("e2e / drift off", ">= 0.9", _ratio("e2e_eps", "drift_off_eps"),
                         lambda v: v >= 0.9),
    "shadow_predict_vs_champion": (
        "shadow predict / champion predict (s per batch)", "<= 1.2",
        lambda r: r.get("shadow_predict_ratio") if isinstance(
            r.get("shadow_predict_ratio"), int | float) else None, lambda v: v <= 1.2),
    "exactly_once_vs_at_least_once": (
        "exactly-once / at-least-once", ">= 0.8",
        _ratio("e2e_exactly_once_eps", "e2e_at_least_once_eps"), lambda v: v >= 0.8),
    "latency_p99_ms": ("latency p99 (ms)", "< 100", _p99, lambda v: v < 100),
    "curve_p99_exactly_once_5k_ms": (
        "p99 at 5k ev/s exactly-once (ms)", "< 100", _curve_p99("exactly-once", 5000.0),
        lambda v: v < 100),
    "curve_p99_at_least_once_5k_ms": (
        "p99 at 5k ev/s at-least-once (ms)", "< 50", _curve_p99("at-least-once", 5000.0),
        lambda v: v < 50),
    "rss_mb": ("consumer peak RSS (MB)", "< 400",
               lambda r: r.get("rss_mb") if isinstance(r.get("rss_mb"), int | float) else None,
               lambda v: v < 400),
}

RESULT_KEYS = (
    "model", "model_version", "ceiling_eps", "e2e_eps", "e2e_at_least_once_eps",
    "e2e_exactly_once_eps", "drift_off_eps", "shadow_eps", "shadow_predict_ratio", "naive_eps",
    "latency_ms", "latency_curve", "rss_mb", "startup_s",
)


def empty_record() -> dict[str, Any]:
    return dict.fromkeys(RESULT_KEYS)


def evaluate(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each check: its value, the target and pass (None when not measured in this run)."""
    out = {}
    for name, (label, target, value_of, ok) in CHECKS.items():
        value = value_of(record)
        out[name] = {
            "what": label, "target": target,
            "value": None if value is None else round(value, 3),
            "pass": None if value is None else bool(ok(value)),
        }
    return out


def merge_case(path: Path, case: str, result: dict[str, Any]) -> dict[str, Any]:
    """The record at `path` (if any) with its `case` key replaced by `result` (a pure case run
    on its own joins the last full record)."""
    record: dict[str, Any] = {}
    if path.is_file():
        record = json.loads(path.read_text(encoding="utf-8"))
    record[case] = result
    return record


def write(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " / ".join(f"{k} {v:,.1f}" for k, v in value.items()) + unit
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value}{unit}"


def table(record: dict[str, Any]) -> str:
    rows = [
        ("model", _fmt(record.get("model")) + f" ({record.get('model_version')})"),
        ("ceiling (no Kafka)", _fmt(record.get("ceiling_eps"), " ev/s")),
        ("e2e (default settings)", _fmt(record.get("e2e_eps"), " ev/s")),
        ("e2e at-least-once", _fmt(record.get("e2e_at_least_once_eps"), " ev/s")),
        ("e2e exactly-once", _fmt(record.get("e2e_exactly_once_eps"), " ev/s")),
        ("e2e drift off", _fmt(record.get("drift_off_eps"), " ev/s")),
        ("e2e challenger in shadow", _fmt(record.get("shadow_eps"), " ev/s")),
        ("naive loop", _fmt(record.get("naive_eps"), " ev/s")),
        ("latency (ms)", _fmt(record.get("latency_ms"))),
        ("peak RSS", _fmt(record.get("rss_mb"), " MB")),
        ("startup to /readyz", _fmt(record.get("startup_s"), " s")),
    ]
    width = max(len(name) for name, _ in rows)
    measured = [(name, value) for name, value in rows[1:] if value != "-"]
    lines = [f"{name:<{width}}  {value}" for name, value in rows[:1] + measured]
    lines += curve_lines(record.get("latency_curve"))
    lines += scale_lines(record.get("scale"))
    checks = [c for c in (record.get("checks") or {}).values() if c["pass"] is not None]
    if checks:
        lines.append("")
    for check in checks:
        status = {True: "PASS", False: "FAIL", None: "n/a "}[check["pass"]]
        value = "-" if check["value"] is None else f"{check['value']:,.3g}"
        lines.append(f"{status}  {check['what']:<30} {value:>10}  (target {check['target']})")
    machine = record.get("machine")
    if machine:
        lines.append("")
        lines.append(f"{machine['date']}  {machine['cores']} cores  {machine['cpu_model']}  "
                     f"Python {machine['python']}  load {machine['load_average']} -> "
                     f"{machine.get('load_average_end')}")
    return "\n".join(lines)


def curve_lines(curve: dict[str, Any] | None) -> list[str]:
    if not curve:
        return []
    lines = ["", "latency curve (ms, drift on; sent = events/s the producer achieved):"]
    for guarantee in ("exactly-once", "at-least-once"):
        saturation = (curve.get("saturation_eps") or {}).get(guarantee)
        tail = f"  saturation {saturation:,} ev/s" if saturation else ""
        lines.append(f"  {guarantee}{tail}")
        for row in curve.get(guarantee) or []:
            lines.append(f"    {row['rate']:>8,.0f} ev/s (sent {row['sent_rate']:>6,})  "
                         f"p50 {row['p50']:>6.1f}  p95 {row['p95']:>6.1f}  p99 {row['p99']:>6.1f}")
        bare = (curve.get("floor") or {}).get(guarantee)
        if bare:
            lines.append(f"    {bare['rate']:>8,.0f} ev/s (sent {bare['sent_rate']:>6,})  "
                         f"p50 {bare['p50']:>6.1f}  p95 {bare['p95']:>6.1f}  "
                         f"p99 {bare['p99']:>6.1f}  bare client (the floor: same Kafka "
                         "clients, no work)")
    return lines


def scale_lines(scale: dict[str, Any] | None) -> list[str]:
    if not scale:
        return []
    lines = ["", f"scale-out ({scale['partitions']} partitions, {scale['cores']} cores):"]
    for row in scale["throughput"]:
        lines.append(f"  {row['instances']} consumer process(es)  {row['eps']:>8,} ev/s  "
                     f"peak RSS {row['peak_rss_mb']} MB")
    for check in scale["churn"]:
        lines.append(
            f"  {'PASS' if check['pass'] else 'FAIL'}  join/leave {check['guarantee']}: "
            f"sent {check['sent']:,}, predictions {check['predictions']:,}, missing "
            f"{check['missing']}, duplicates {check['duplicates']}")
    return lines
