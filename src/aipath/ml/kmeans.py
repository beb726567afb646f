"""k-means by Lloyd's algorithm, seeded with k-means++.

Alternate two steps until no point changes cluster: assign each point to its nearest
centre; move each centre to the mean of its points. Each step can only lower the inertia
(sum of squared distances to the assigned centre), so it terminates. k-means++ picks
initial centres far apart: each next centre with probability proportional to ``D(x)^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from aipath.ml.knn import pairwise_sq_distances


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = pairwise_sq_distances(x, np.array(centres)).min(axis=1)
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum())])
    return np.array(centres)


@dataclass
class KMeansResult:
    centres: np.ndarray
    labels: np.ndarray
    inertia: float
    iterations: int
    history: list[float]  # inertia after each assignment step


def kmeans(x: ArrayLike, k: int, init: ArrayLike | None = None, max_iter: int = 300,
           seed: int = 0) -> KMeansResult:
    """Cluster ``x`` into ``k`` groups; ``init`` overrides the k-means++ start."""
    x = np.asarray(x, float)
    assert 1 <= k <= len(x)
    rng = np.random.default_rng(seed)
    centres = np.array(init, float) if init is not None else kmeans_plus_plus(x, k, rng)
    labels, history = np.full(len(x), -1), []
    for it in range(1, max_iter + 1):
        d2 = pairwise_sq_distances(x, centres)
        new_labels = d2.argmin(axis=1)
        history.append(float(d2[np.arange(len(x)), new_labels].sum()))
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(k):
            if (labels == j).any():  # an empty cluster keeps its old centre
                centres[j] = x[labels == j].mean(axis=0)
    inertia = float(pairwise_sq_distances(x, centres)[np.arange(len(x)), labels].sum())
    return KMeansResult(centres, labels, inertia, it, history)


def kmeans_restarts(x: ArrayLike, k: int, n_init: int = 10, seed: int = 0) -> KMeansResult:
    """Best of ``n_init`` k-means++ starts: Lloyd only finds a local minimum of the inertia."""
    assert n_init >= 1
    runs = [kmeans(x, k, seed=seed + i) for i in range(n_init)]
    return min(runs, key=lambda r: r.inertia)
