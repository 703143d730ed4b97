"""`FlatForest`: a fitted `HistGradientBoostingRegressor`'s trees as flat arrays, walked for
every tree and every row of a small batch at once.

scikit-learn predicts one tree per call (97 trees here), each with a fixed cost, so a predict
costs 1.2-2.7 ms whether the batch holds 1 event or 100 (measured single-threaded): at 5,000
events/s, where batches hold what arrived during the previous one, that fixed cost is most of
the scorer's CPU. Here one numpy step moves every (tree, row) pair still inside a tree down one
level; the leaves' values are then added tree by tree in scikit-learn's order, so predictions
are bit-identical (checked on a probe when compiled; any difference and the estimator keeps its
own predict). Large batches go to scikit-learn, whose per-row walk is faster there.

Only what it reproduces exactly compiles: one output, the identity link (squared error, absolute
error, quantile losses), numeric splits (no categorical bitsets).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PROBE_ROWS = 512
PROBE_SEED = 0


class FlatForest:
    """The trees' nodes concatenated (children as indices into the whole); `predict(X)`."""

    def __init__(self, nodes: list[np.ndarray], baseline: float, n_features: int) -> None:
        self.n_features = n_features
        sizes = np.array([len(n) for n in nodes])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        flat = np.concatenate(nodes)
        leaf = flat["is_leaf"].astype(bool)
        shift = np.repeat(offsets, sizes)
        self.roots = offsets.astype(np.intp)
        self.feature = flat["feature_idx"].astype(np.intp)
        self.threshold = flat["num_threshold"].astype(np.float64)
        self.missing_left = flat["missing_go_to_left"].astype(bool)
        left = np.where(leaf, 0, flat["left"].astype(np.intp) + shift)
        right = np.where(leaf, 0, flat["right"].astype(np.intp) + shift)
        self.children = np.column_stack([right, left]).ravel()  # [2 i]: right, [2 i + 1]: left
        self.is_leaf = leaf
        self.value = flat["value"].astype(np.float64)
        self.baseline = float(baseline)

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The regressor's predictions for the rows of `X` (n_rows x n_features, float64)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:  # else rows would run into each other
            raise ValueError(f"expected {self.n_features} features, got shape {X.shape}")
        n_rows, n_trees = X.shape[0], self.n_trees
        values = X.ravel()
        node = np.repeat(self.roots, n_rows)  # pair t * n_rows + r: tree t, row r
        start = np.tile(np.arange(n_rows) * X.shape[1], n_trees)  # the pair's row in `values`
        inside = np.flatnonzero(~self.is_leaf[node])
        while inside.size:
            at = node.take(inside)
            x = values.take(start.take(inside) + self.feature.take(at))
            left = x <= self.threshold.take(at)  # NaN compares False: the missing rule below
            missing = np.isnan(x)
            if missing.any():
                left[missing] = self.missing_left.take(at[missing])
            below = self.children.take(2 * at + left)
            node[inside] = below
            inside = inside[~self.is_leaf.take(below)]
        leaves = self.value[node].reshape(n_trees, n_rows)
        raw = np.zeros(n_rows)
        raw += self.baseline
        for tree in leaves:  # scikit-learn's order of additions: the same floats
            raw += tree
        return raw


def compile_forest(estimator: Any) -> FlatForest | None:
    """The estimator's trees as a `FlatForest`, or None when it is something else or the
    forest's predictions differ by a bit from its own on a probe."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    if type(estimator) is not HistGradientBoostingRegressor:  # a subclass may predict otherwise
        return None
    predictors = getattr(estimator, "_predictors", None)
    link = getattr(getattr(estimator, "_loss", None), "link", None)
    if (not predictors or getattr(estimator, "n_trees_per_iteration_", 0) != 1
            or type(link).__name__ != "IdentityLink"
            or getattr(estimator, "_preprocessor", None) is not None):  # reordered columns
        return None
    nodes = [trees[0].nodes for trees in predictors]
    if any(n["is_categorical"].any() for n in nodes):
        return None
    forest = FlatForest(nodes, float(np.ravel(estimator._baseline_prediction)[0]),
                        int(estimator.n_features_in_))
    try:
        probe = probe_matrix(forest)
        same = np.array_equal(forest.predict(probe), estimator.predict(probe))
    except Exception as exc:  # the estimator refused the probe: keep its own predict
        log.info("trees not flattened (probe failed: %s)", exc)
        return None
    if not same:
        log.warning("the flat forest differs from the model's predict on a probe: not used")
        return None
    log.info("trees flattened (%d trees, %d nodes, bit-identical on a probe of %d rows)",
             forest.n_trees, len(forest.value), len(probe))
    return forest


def probe_matrix(forest: FlatForest) -> np.ndarray:
    """Rows in which every split threshold of a feature, the value just above it, a missing
    value, ±inf and 0 each appear at least once in that feature's column, the columns shuffled
    independently (seeded): both sides of the splits near the roots, and the missing rule, are
    taken; deeper splits as the combinations fall."""
    rng = np.random.default_rng(PROBE_SEED)
    splits = ~forest.is_leaf
    values = []
    for feature in range(forest.n_features):
        thresholds = forest.threshold[splits & (forest.feature == feature)]
        values.append(np.concatenate([thresholds, np.nextafter(thresholds, np.inf),
                                      [np.nan, -np.inf, np.inf, 0.0]]))
    rows = max(PROBE_ROWS, *(len(v) for v in values))
    return np.column_stack([np.resize(rng.permutation(v), rows) for v in values])
