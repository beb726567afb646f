"""A random forest: many trees, each on a bootstrap sample and random feature subsets.

Bagging averages away the variance of deep trees; sampling ``max_features`` per split
decorrelates them further. The forest's probability is the mean of its trees'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from aipath.ml.tree import DecisionTree, TreeConfig


@dataclass(frozen=True)
class ForestConfig:
    n_trees: int = 50
    tree: TreeConfig = field(default_factory=TreeConfig)
    bootstrap: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        assert self.n_trees >= 1


@dataclass
class RandomForest:
    config: ForestConfig = field(default_factory=ForestConfig)
    trees: list[DecisionTree] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)  # row indices each tree saw

    def fit(self, x: ArrayLike, y: ArrayLike) -> "RandomForest":
        x, y = np.asarray(x, float), np.asarray(y, int)
        rng = np.random.default_rng(self.config.seed)
        n_classes = int(y.max()) + 1
        self.trees, self.samples = [], []
        for t in range(self.config.n_trees):
            rows = rng.integers(0, len(y), len(y)) if self.config.bootstrap else np.arange(len(y))
            tree = DecisionTree(self.config.tree).fit(x[rows], y[rows], seed=t,
                                                      n_classes=n_classes)
            self.trees.append(tree)
            self.samples.append(rows)
        return self

    def predict_proba(self, x: ArrayLike) -> np.ndarray:
        assert self.trees, "call fit first"
        return np.mean([tree.predict_proba(x) for tree in self.trees], axis=0)

    def predict(self, x: ArrayLike) -> np.ndarray:
        return self.predict_proba(x).argmax(axis=1)
