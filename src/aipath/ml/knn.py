"""k-nearest neighbours: no training, a majority vote among the closest stored points.

Distances ``||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2`` for all pairs at once; ties in the
vote go to the smaller class label.

>>> KNN(k=1).fit([[0.0], [10.0]], [0, 1]).predict([[2.0], [9.0]]).tolist()
[0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def pairwise_sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


@dataclass
class KNN:
    k: int = 5

    def __post_init__(self) -> None:
        assert self.k >= 1

    def fit(self, x: ArrayLike, y: ArrayLike) -> "KNN":
        self.x, self.y = np.asarray(x, float), np.asarray(y, int)
        assert self.k <= len(self.y), "k larger than the training set"
        return self

    def neighbors(self, x: ArrayLike) -> np.ndarray:
        """Indices of the k nearest training points per query row, nearest first."""
        d = pairwise_sq_distances(np.asarray(x, float), self.x)
        return np.argsort(d, axis=1, kind="stable")[:, : self.k]

    def predict(self, x: ArrayLike) -> np.ndarray:
        votes = self.y[self.neighbors(x)]
        n_classes = int(self.y.max()) + 1
        return np.array([np.bincount(v, minlength=n_classes).argmax() for v in votes])
