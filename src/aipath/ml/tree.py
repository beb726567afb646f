"""A CART decision tree for classification (Gini or entropy), grown greedily.

At each node, try every feature and every threshold halfway between consecutive sorted
values; keep the split with the largest impurity decrease
``I(parent) - (n_L I(L) + n_R I(R)) / n``. Stop at ``max_depth``, at pure nodes, or when a
child would get fewer than ``min_samples_leaf`` samples.

Worked example: labels ``[0, 0, 1, 1]`` have Gini ``1 - 0.5^2 - 0.5^2 = 0.5``; splitting
them 2/2 into pure halves has gain 0.5, the best possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike


def impurity(counts: np.ndarray, criterion: str) -> np.ndarray:
    """Gini ``1 - sum p^2`` or entropy ``-sum p log2 p`` of class counts (last axis)."""
    total = counts.sum(axis=-1, keepdims=True)
    p = counts / np.where(total == 0, 1, total)
    if criterion == "gini":
        return 1.0 - (p**2).sum(axis=-1)
    if criterion == "entropy":
        logs = np.log2(np.where(p > 0, p, 1.0))
        return -(p * logs).sum(axis=-1)
    raise ValueError(f"criterion must be 'gini' or 'entropy', got {criterion!r}")


@dataclass
class Node:
    counts: np.ndarray
    impurity: float
    depth: int
    feature: int = -1
    threshold: float = 0.0
    left: int = -1
    right: int = -1

    @property
    def is_leaf(self) -> bool:
        return self.left < 0

    @property
    def n(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class TreeConfig:
    criterion: str = "gini"
    max_depth: int | None = None
    min_samples_leaf: int = 1
    max_features: int | None = None  # features tried per split; None = all

    def __post_init__(self) -> None:
        assert self.criterion in ("gini", "entropy")
        assert self.max_depth is None or self.max_depth >= 0
        assert self.min_samples_leaf >= 1
        assert self.max_features is None or self.max_features >= 1


@dataclass
class DecisionTree:
    config: TreeConfig = field(default_factory=TreeConfig)
    nodes: list[Node] = field(default_factory=list)
    n_classes: int = 0

    def fit(self, x: ArrayLike, y: ArrayLike, seed: int = 0,
            n_classes: int | None = None) -> "DecisionTree":
        """``y`` holds class indices 0..k-1; ``seed`` drives feature subsampling only."""
        x, y = np.asarray(x, float), np.asarray(y, int)
        self.n_classes = n_classes or int(y.max()) + 1
        self.nodes = []
        self._rng = np.random.default_rng(seed)
        self._grow(x, y, depth=0)
        return self

    def _grow(self, x: np.ndarray, y: np.ndarray, depth: int) -> int:
        counts = np.bincount(y, minlength=self.n_classes).astype(float)
        node = Node(counts, float(impurity(counts, self.config.criterion)), depth)
        self.nodes.append(node)
        index = len(self.nodes) - 1
        if self.config.max_depth is not None and depth >= self.config.max_depth:
            return index
        if node.impurity <= 1e-12 or len(y) < 2 * self.config.min_samples_leaf:
            return index
        split = self._best_split(x, y, node.impurity)
        if split is None:
            return index
        node.feature, node.threshold = split
        go_left = x[:, node.feature] <= node.threshold
        node.left = self._grow(x[go_left], y[go_left], depth + 1)
        node.right = self._grow(x[~go_left], y[~go_left], depth + 1)
        return index

    def _best_split(self, x: np.ndarray, y: np.ndarray,
                    parent: float) -> tuple[int, float] | None:
        n, n_features = x.shape
        features = np.arange(n_features)
        if self.config.max_features is not None and self.config.max_features < n_features:
            features = self._rng.choice(n_features, self.config.max_features, replace=False)
        onehot = np.eye(self.n_classes)[y]
        best_gain, best = 1e-12, None
        leaf = self.config.min_samples_leaf
        for f in features:
            order = np.argsort(x[:, f], kind="stable")
            xs = x[order, f]
            left = np.cumsum(onehot[order], axis=0)[:-1]
            right = left[-1] + onehot[order[-1]] - left
            n_left = np.arange(1, n)
            child = (n_left * impurity(left, self.config.criterion)
                     + (n - n_left) * impurity(right, self.config.criterion)) / n
            valid = (xs[1:] > xs[:-1] + 1e-7) & (n_left >= leaf) & (n - n_left >= leaf)
            if not valid.any():
                continue
            gains = np.where(valid, parent - child, -np.inf)
            i = int(np.argmax(gains))
            if gains[i] > best_gain:
                threshold = (xs[i] + xs[i + 1]) / 2.0
                best_gain, best = gains[i], (int(f), threshold if threshold < xs[i + 1] else xs[i])
        return best

    def _leaf_of(self, row: np.ndarray) -> Node:
        node = self.nodes[0]
        while not node.is_leaf:
            node = self.nodes[node.left if row[node.feature] <= node.threshold else node.right]
        return node

    def predict_proba(self, x: ArrayLike) -> np.ndarray:
        leaves = [self._leaf_of(row) for row in np.asarray(x, float)]
        return np.array([leaf.counts / leaf.counts.sum() for leaf in leaves])

    def predict(self, x: ArrayLike) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)

    def reachable(self) -> list[int]:
        """Indices of nodes still in the tree (pruning detaches subtrees)."""
        stack, seen = [0], []
        while stack:
            i = stack.pop()
            seen.append(i)
            if not self.nodes[i].is_leaf:
                stack += [self.nodes[i].right, self.nodes[i].left]
        return sorted(seen)

    def n_leaves(self) -> int:
        return sum(self.nodes[i].is_leaf for i in self.reachable())

    def depth(self) -> int:
        return max(self.nodes[i].depth for i in self.reachable())

    def export_text(self, feature_names: list[str] | None = None, decimals: int = 2) -> str:
        """The tree as nested rules, in the same format as ``sklearn.tree.export_text``."""
        lines: list[str] = []

        def walk(i: int, level: int) -> None:
            node, pad = self.nodes[i], "|   " * level
            if node.is_leaf:
                lines.append(f"{pad}|--- class: {int(node.counts.argmax())}")
                return
            name = feature_names[node.feature] if feature_names else f"feature_{node.feature}"
            for op, child in (("<=", node.left), (">", node.right)):
                lines.append(f"{pad}|--- {name} {op:<2} {node.threshold:.{decimals}f}")
                walk(child, level + 1)

        walk(0, 0)
        return "\n".join(lines) + "\n"
