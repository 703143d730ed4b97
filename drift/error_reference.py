"""`ErrorReference`: the held-out residuals summarised for concept drift, and relative errors.

Absolute residuals are binned on their quantiles (profile format 2). With the predictions of the
same rows, errors relative to the prediction are binned by magnitude and sign (format 4), when
they depend less on the prediction than the absolute errors do (`scale_free_residuals`), with
the shares of the same errors scaled by each of `ERROR_SCALES` (the concept flag's moves).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from drift.exceptions import ProfileError

#: relative errors scaled by these factors are kept in the profile (`ErrorReference.rel_moves`)
ERROR_SCALES: tuple[float, ...] = (1.2, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class ErrorReference:
    """Signed held-out residuals (``y_true - y_pred``) summarised for concept drift.

    `abs_edges` are quantile bin edges of the absolute residuals and `abs_proportions` the
    share of each bin (empty in profiles of format 1, which lack them).

    `rel_edges` are quantile bin edges of the absolute relative residuals
    ``|y_true - y_pred| / y_pred`` (rows with a positive prediction) and `rel_proportions` the
    share of each (magnitude bin, sign) pair, at ``2 * bin + (residual >= 0)`` (see
    `relative_codes`). They are empty before format 4, without the predictions, or when the
    relative errors depend more on the prediction than the absolute ones do
    (`scale_free_residuals`): then the concept flag watches the absolute errors. `rel_moves`
    maps ``x<f>`` to the shares of the same codes for the relative residuals times f, for f in
    `ERROR_SCALES` (errors f times larger: the alternatives of the concept flag's ``move:``
    directions).
    """

    n: int
    mae: float
    rmse: float
    mean: float
    std: float
    abs_edges: tuple[float, ...] = ()
    abs_proportions: tuple[float, ...] = ()
    rel_edges: tuple[float, ...] = ()
    rel_proportions: tuple[float, ...] = ()
    rel_n: int = 0
    rel_moves: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @classmethod
    def from_residuals(
        cls, residuals: np.ndarray, *, predictions: np.ndarray | None = None, n_bins: int = 20,
        rel_bins: int = 30,
    ) -> ErrorReference:
        """Summarise `residuals`; with the `predictions` they belong to, relative bins too."""
        e = np.asarray(residuals, dtype=np.float64).ravel()
        rel = None if predictions is None else scale_free_residuals(e, predictions)
        e = e[np.isfinite(e)]
        if e.size == 0:
            raise ProfileError("reference_errors has no finite value")
        mae = float(np.mean(np.abs(e)))
        if mae <= 0:
            raise ProfileError("reference_errors are all zero: no error level to compare with")
        a = np.abs(e)
        edges = np.unique(np.quantile(a, np.linspace(0.0, 1.0, n_bins + 1)))
        if edges.size < 3:
            raise ProfileError("reference_errors take fewer than 2 distinct absolute values")
        codes = np.clip(np.searchsorted(edges[1:-1], a, side="right"), 0, edges.size - 2)
        shares = np.bincount(codes, minlength=edges.size - 1) / a.size
        rel_edges, rel_shares = _relative_bins(rel, rel_bins)
        rel_moves = {} if rel is None or rel_edges.size == 0 else {
            f"x{f:g}": tuple((np.bincount(relative_codes(rel_edges, rel * f),
                                          minlength=rel_shares.size) / rel.size).tolist())
            for f in ERROR_SCALES
        }
        return cls(
            n=int(e.size), mae=mae, rmse=float(np.sqrt(np.mean(e * e))),
            mean=float(np.mean(e)), std=float(np.std(e)),
            abs_edges=tuple(edges.tolist()), abs_proportions=tuple(shares.tolist()),
            rel_edges=tuple(rel_edges.tolist()), rel_proportions=tuple(rel_shares.tolist()),
            rel_n=0 if rel is None else int(rel.size), rel_moves=rel_moves,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "mae": self.mae, "rmse": self.rmse, "mean": self.mean, "std": self.std,
            "abs_edges": list(self.abs_edges), "abs_proportions": list(self.abs_proportions),
            "rel_edges": list(self.rel_edges), "rel_proportions": list(self.rel_proportions),
            "rel_n": self.rel_n,
            "rel_moves": {move: list(shares) for move, shares in self.rel_moves.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorReference:
        return cls(
            n=int(data["n"]), mae=float(data["mae"]), rmse=float(data["rmse"]),
            mean=float(data["mean"]), std=float(data["std"]),
            abs_edges=tuple(float(v) for v in data.get("abs_edges", ())),
            abs_proportions=tuple(float(v) for v in data.get("abs_proportions", ())),
            rel_edges=tuple(float(v) for v in data.get("rel_edges", ())),
            rel_proportions=tuple(float(v) for v in data.get("rel_proportions", ())),
            rel_n=int(data.get("rel_n", 0)),
            rel_moves={str(move): tuple(float(v) for v in shares)
                       for move, shares in data.get("rel_moves", {}).items()},
        )


def relative_residuals(residuals: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """``residual / prediction`` where the prediction is positive and both are finite.

    Errors of a price model grow with the price: relative to the prediction they are nearly
    alike across prices, so a change of their scale or a bias stands out of a much narrower
    distribution than the absolute errors' mixture over prices.
    """
    e = np.asarray(residuals, dtype=np.float64).ravel()
    p = np.asarray(predictions, dtype=np.float64).ravel()
    if e.shape != p.shape:
        raise ValueError(f"residuals and predictions differ in length: {e.size} != {p.size}")
    keep = np.isfinite(e) & np.isfinite(p) & (p > 0)
    return e[keep] / p[keep]


def scale_free_residuals(residuals: np.ndarray, predictions: np.ndarray) -> np.ndarray | None:
    """The relative residuals if their size depends less on the prediction than the absolute
    residuals' does (smaller absolute Spearman correlation with it), else None.

    A model whose errors grow with the price (diamonds: 0.58 absolute, -0.26 relative) is
    watched on relative errors; one with errors of the same size at every price keeps
    absolute errors, which a shift of the prices alone would otherwise move.
    """
    e = np.asarray(residuals, dtype=np.float64).ravel()
    p = np.asarray(predictions, dtype=np.float64).ravel()
    rel = relative_residuals(e, p)
    keep = np.isfinite(e) & np.isfinite(p) & (p > 0)
    if rel.size < 3 or np.ptp(p[keep]) == 0:
        return None
    on_abs = abs(float(spearmanr(np.abs(e[keep]), p[keep])[0]))
    on_rel = abs(float(spearmanr(np.abs(rel), p[keep])[0]))
    return rel if on_rel < on_abs else None


def relative_codes(edges: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """``2 * (magnitude bin of |rel| on `edges`, ends clipped in) + (rel >= 0)``."""
    last = edges.size - 2
    magnitude = np.clip(np.searchsorted(edges[1:-1], np.abs(rel), side="right"), 0, last)
    return 2 * magnitude + (rel >= 0)


def _relative_bins(rel: np.ndarray | None, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantile edges of ``|rel|`` and the share of each (bin, sign) code; empty if too few."""
    if rel is None or rel.size == 0:
        return np.zeros(0), np.zeros(0)
    edges = np.unique(np.quantile(np.abs(rel), np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size < 3:
        return np.zeros(0), np.zeros(0)
    codes = relative_codes(edges, rel)
    return edges, np.bincount(codes, minlength=2 * (edges.size - 1)) / rel.size
