"""A linear soft-margin SVM: hinge loss minimised by dual coordinate descent.

Primal: ``min_w 1/2 ||w||^2 + C sum_i max(0, 1 - y_i w.x_i)`` with ``y in {-1, +1}``.
Its dual is a box-constrained quadratic, ``0 <= alpha_i <= C``; updating one ``alpha_i`` at
a time has a closed form (Hsieh et al., 2008, the algorithm inside LIBLINEAR), and
``w = sum_i alpha_i y_i x_i`` is kept in sync. Points with ``alpha_i > 0`` are the support
vectors. The bias is learned as the weight of a constant feature (so it is regularised
too, exactly as LIBLINEAR does with ``intercept_scaling=1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class SVMConfig:
    c: float = 1.0
    epochs: int = 1000
    tol: float = 1e-8
    seed: int = 0

    def __post_init__(self) -> None:
        assert self.c > 0 and self.epochs > 0 and self.tol > 0


def hinge_objective(w: np.ndarray, b: float, x: np.ndarray, y: np.ndarray, c: float) -> float:
    """1/2 (||w||^2 + b^2) + C sum hinge: the primal objective this SVM minimises."""
    margins = y * (x @ w + b)
    return float(0.5 * (w @ w + b * b) + c * np.maximum(0.0, 1.0 - margins).sum())


@dataclass
class LinearSVM:
    config: SVMConfig = field(default_factory=SVMConfig)
    coef: np.ndarray | None = None
    intercept: float = 0.0
    alpha: np.ndarray | None = None

    def fit(self, x: ArrayLike, y: ArrayLike) -> "LinearSVM":
        """``y`` in {0, 1} or {-1, +1}."""
        x = np.column_stack([np.asarray(x, float), np.ones(len(x))])
        y = np.where(np.asarray(y) > 0, 1.0, -1.0)
        n = len(y)
        q_diag = np.einsum("ij,ij->i", x, x)
        alpha, w = np.zeros(n), np.zeros(x.shape[1])
        rng = np.random.default_rng(self.config.seed)
        for _ in range(self.config.epochs):
            biggest = 0.0
            for i in rng.permutation(n):
                grad = y[i] * (x[i] @ w) - 1.0
                new = min(max(alpha[i] - grad / q_diag[i], 0.0), self.config.c)
                if new != alpha[i]:
                    w += (new - alpha[i]) * y[i] * x[i]
                    biggest = max(biggest, abs(new - alpha[i]))
                    alpha[i] = new
            if biggest < self.config.tol:
                break
        self.coef, self.intercept, self.alpha = w[:-1], float(w[-1]), alpha
        return self

    def decision_function(self, x: ArrayLike) -> np.ndarray:
        assert self.coef is not None, "call fit first"
        return np.asarray(x, float) @ self.coef + self.intercept

    def predict(self, x: ArrayLike) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(int)

    def support_vectors(self) -> np.ndarray:
        assert self.alpha is not None
        return np.flatnonzero(self.alpha > 1e-10)
