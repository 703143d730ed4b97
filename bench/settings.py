"""Benchmark settings: the flags of `python -m bench` and the BENCH_* environment variables.

Counts left unset take the full-run default, or the `--quick` default with `--quick`
(`Plan` holds the resolved values)::

    setting            full run     --quick   meaning
    events             200,000      3,000     pre-filled input events per throughput run
    repeats            5            1         interleaved runs of each e2e case (median kept)
    naive_events       2,000        200       events of the one-at-a-time loop
    latency_rate       5,000        1,000     events/s sent by the producer in the latency case
    latency_seconds    35           6         how long it sends (the first `warmup` s excluded)
    latency_warmup     5            1         seconds of the latency run not measured
    curve_rates        1k,5k,10k,20k  1k,5k  events/s of the latency curve (both guarantees)
    curve_seconds      15           2         seconds of sending per point of the curve
                                              (--quick: every point of a guarantee on one
                                              consumer; the full run starts one per point)
    scale_events       200,000      3,000     events per scale-out run
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from common.settings import cli_settings_config
from model.artifact import DEFAULT_ARTIFACT_DIR

ALL_CASES: tuple[str, ...] = (
    "ceiling", "e2e", "guarantees", "drift_off", "shadow", "naive", "process", "latency",
    "latency_curve", "scale", "drift_delays", "performance_estimation",
)
PURE_CASES: tuple[str, ...] = ("drift_delays", "performance_estimation")  # no broker
DEFAULT_CASES: tuple[str, ...] = tuple(c for c in ALL_CASES if c != "scale")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    """Resolved counts of one benchmark run."""

    events: int
    repeats: int
    naive_events: int
    latency_rate: float
    latency_seconds: float
    latency_warmup: float
    curve_rates: tuple[float, ...]
    curve_seconds: float
    scale_events: int


class BenchSettings(BaseSettings):
    """Benchmark the scoring service on a local broker; writes bench/results/latest.json."""

    model_config = cli_settings_config(
        env_prefix="BENCH_", prog_name="python -m bench", implicit_flags=True
    )

    quick: bool = Field(False, description="a short smoke run with tiny counts")
    cases: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CASES),
        description=f"cases to run, comma-separated: {', '.join(ALL_CASES)}",
    )
    events: int | None = Field(None, ge=100, description="input events per throughput run")
    repeats: int | None = Field(None, ge=1, le=20, description="runs of each e2e case")
    naive_events: int | None = Field(None, ge=10, description="events of the naive loop")
    latency_rate: float | None = Field(None, gt=0, le=100_000, description="events/s")
    latency_seconds: float | None = Field(None, gt=0, le=3600, description="seconds of sending")
    latency_warmup: float | None = Field(None, ge=0, description="first seconds not measured")
    curve_rates: list[float] | None = Field(
        None, description="events/s of the latency curve, comma-separated"
    )
    curve_seconds: float | None = Field(
        None, gt=0, le=600, description="seconds of sending per point of the latency curve"
    )
    scale_events: int | None = Field(None, ge=100, description="events per scale-out run")
    profile: bool = Field(
        False, description="write a pyinstrument profile of the first e2e run's hot loop to "
        "bench/results/profile.html (and .txt)",
    )
    model_path: Path = Field(DEFAULT_ARTIFACT_DIR, description="model artifact directory")
    model: str | None = Field(None, description="model name for the record (default: its type)")
    batch_size: int | None = Field(
        None, ge=1, le=100_000, description="consumer batch size (default: the consumer's)"
    )
    partitions: int = Field(3, ge=1, le=64, description="partitions of the input topic")
    seed: int = Field(42, ge=0, description="seed of the event stream")
    bootstrap_servers: str | None = Field(
        None, description="use this broker instead of starting a local one"
    )
    output: Path = Field(RESULTS_DIR / "latest.json", description="where to write the JSON")

    @field_validator("cases")
    @classmethod
    def _known_cases(cls, value: list[str]) -> list[str]:
        names = [c.strip() for item in value for c in item.split(",") if c.strip()]
        unknown = sorted(set(names) - set(ALL_CASES))
        if unknown or not names:
            raise ValueError(
                f"unknown case(s) {unknown or value}; expected some of {', '.join(ALL_CASES)}"
            )
        return names

    @field_validator("curve_rates", mode="before")
    @classmethod
    def _comma_separated_rates(cls, value: object) -> object:
        if isinstance(value, str):
            return [r for r in value.split(",") if r.strip()]
        if isinstance(value, list):
            return [r for item in value for r in (str(item).split(",")) if r.strip()]
        return value

    def plan(self) -> Plan:
        q = self.quick
        return Plan(
            events=self.events or (3_000 if q else 200_000),
            repeats=self.repeats or (1 if q else 5),
            naive_events=self.naive_events or (200 if q else 2_000),
            latency_rate=self.latency_rate or (1_000.0 if q else 5_000.0),
            latency_seconds=self.latency_seconds or (6.0 if q else 35.0),
            latency_warmup=(
                self.latency_warmup if self.latency_warmup is not None else (1.0 if q else 5.0)
            ),
            curve_rates=tuple(self.curve_rates or ((1_000.0, 5_000.0) if q else
                                                   (1_000.0, 5_000.0, 10_000.0, 20_000.0))),
            curve_seconds=self.curve_seconds or (2.0 if q else 15.0),
            scale_events=self.scale_events or (3_000 if q else 200_000),
        )
