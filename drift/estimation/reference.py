"""`EstimationReference`: what the performance estimate is compared with, built at training time.

Built from the cross-fitted estimates of the loss model on the held-out rows (each row
estimated by a model that never saw it) and the realized absolute errors of those rows::

    mae, rmse        the primary model's realized held-out MAE and RMSE (the ratios' 1.0)
    kappa            sum(e^2) / sum(loss^2): turns estimated absolute errors into estimated
                     squared ones (E[e^2 | x] = kappa * loss(x)^2 for errors of one shape whose
                     scale varies with x), so RMSE needs no second loss model
    edges, p0,       bins of the per-event estimated loss (quantiles, finer in the top tenth),
    bin_means        their reference probabilities and the mean estimate in each bin
    constant         the alarm bank's calibration constant (`drift.sequential.calibrate`)
    windows          estimated vs realized MAE over held-out windows of `window_size` rows

It round-trips through JSON (``format_version``), like the drift profile.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from drift.exceptions import ProfileError
from drift.jsonfile import load_json_object, save_json

FORMAT_VERSION = 1
#: quantile levels of the bin edges: twentieths, then finer in the top tenth, where the
#: estimated losses of the dearest stones spread over a wide range
LEVELS: tuple[float, ...] = (
    *(i / 20 for i in range(1, 18)), 0.9, 0.93, 0.96, 0.98, 0.99, 0.995,
)
ALARM_RATIO = 1.2  # the estimated MAE over the reference at which the alarm starts to climb
WINDOW_SIZE = 1000
WINDOWS = 200
SEED = 0


@dataclass(frozen=True)
class WindowCheck:
    """Estimated vs realized MAE over `count` held-out windows of `size` rows (resampled)."""

    size: int
    count: int
    median_abs_pct: float  # median |estimated / realized - 1|, in %
    ratio_sd: float  # sd of the estimated window MAE over the reference MAE (quiet spread)


@dataclass(frozen=True)
class EstimationReference:
    mae: float
    rmse: float
    mean_estimate: float
    kappa: float
    n: int
    edges: tuple[float, ...]  # inner bin edges (ascending): len(p0) - 1 of them
    p0: tuple[float, ...]
    bin_means: tuple[float, ...]
    alarm_ratio: float
    constant: tuple[str, float] | None  # (bank key, c) of the default alarm bank
    windows: WindowCheck

    @classmethod
    def build(
        cls, estimated: np.ndarray, realized: np.ndarray, *, alarm_ratio: float = ALARM_RATIO,
        window_size: int = WINDOW_SIZE, windows: int = WINDOWS, calibrate: bool = True,
    ) -> EstimationReference:
        """From cross-fitted estimated absolute errors and the realized ones (same rows)."""
        est = np.asarray(estimated, dtype=np.float64).ravel()
        real = np.abs(np.asarray(realized, dtype=np.float64).ravel())
        if est.shape != real.shape or est.size < 100:
            raise ProfileError(
                f"need >= 100 estimated and realized errors of one length, got {est.size} "
                f"and {real.size}"
            )
        if not (np.all(np.isfinite(est)) and np.all(np.isfinite(real))):
            raise ProfileError("estimated and realized errors must be finite")
        est = np.maximum(est, 0.0)
        edges = nonempty_edges(est, np.unique(np.quantile(est, LEVELS)))
        codes = np.searchsorted(edges, est, side="right")
        counts = np.bincount(codes, minlength=edges.size + 1).astype(np.float64)
        sums = np.bincount(codes, weights=est, minlength=edges.size + 1)
        squares = float(np.sum(est**2))
        if counts.size < 2 or squares <= 0:
            raise ProfileError("the estimated losses are constant: no alarm can be built")
        reference = cls(
            mae=float(real.mean()), rmse=float(np.sqrt(np.mean(real**2))),
            mean_estimate=float(est.mean()), kappa=float(np.sum(real**2) / squares),
            n=int(est.size), edges=tuple(float(e) for e in edges),
            p0=tuple(float(c) for c in counts / counts.sum()),
            bin_means=tuple(float(s / c) for s, c in zip(sums, counts, strict=True)),
            alarm_ratio=alarm_ratio, constant=None,
            windows=window_check(est, real, window_size, windows),
        )
        if not calibrate:
            return reference
        from drift.estimation.alarm import alarm_constant  # the alarm reads this module

        return reference.with_constant(alarm_constant(reference))

    def with_constant(self, constant: tuple[str, float]) -> EstimationReference:
        return replace(self, constant=constant)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["constant"] = None if self.constant is None else list(self.constant)
        return {"format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimationReference:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ProfileError(
                f"estimation reference format_version {version!r} is not readable "
                f"(expected {FORMAT_VERSION})"
            )
        try:
            constant = data["constant"]
            return cls(
                mae=float(data["mae"]), rmse=float(data["rmse"]),
                mean_estimate=float(data["mean_estimate"]), kappa=float(data["kappa"]),
                n=int(data["n"]), edges=tuple(map(float, data["edges"])),
                p0=tuple(map(float, data["p0"])), bin_means=tuple(map(float, data["bin_means"])),
                alarm_ratio=float(data["alarm_ratio"]),
                constant=None if constant is None else (str(constant[0]), float(constant[1])),
                windows=WindowCheck(**data["windows"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProfileError(f"malformed estimation reference: {exc!r}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON, atomically (a temporary file renamed over `path`)."""
        save_json(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EstimationReference:
        return cls.from_dict(load_json_object(path))


def nonempty_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`edges` without those whose bin on the left holds no value (ties, interpolation)."""
    while edges.size:
        counts = np.bincount(np.searchsorted(edges, values, side="right"),
                             minlength=edges.size + 1)
        empty = np.flatnonzero(counts == 0)
        if not empty.size:
            break
        edges = np.delete(edges, max(int(empty[0]) - 1, 0))
    return edges


def window_check(est: np.ndarray, real: np.ndarray, size: int, count: int) -> WindowCheck:
    """Windows of `size` rows drawn with replacement (seeded): how close the estimate is."""
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, est.size, size=(count, size))
    est_mae = est[picks].mean(axis=1)
    real_mae = real[picks].mean(axis=1)
    pct = np.abs(est_mae / np.maximum(real_mae, 1e-12) - 1) * 100
    ratio = est_mae / real.mean() if real.mean() > 0 else np.full(count, math.nan)
    return WindowCheck(size=size, count=count, median_abs_pct=float(np.median(pct)),
                       ratio_sd=float(np.std(ratio)))
