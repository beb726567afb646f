"""Logistic regression trained by plain (full-batch) gradient descent.

``p = sigmoid(X w + b)``; the mean cross-entropy ``-[y log p + (1-y) log(1-p)]`` has the
friendly gradient ``X^T (p - y) / n``. An L2 penalty ``lam/2 ||w||^2`` (not on ``b``)
keeps weights finite on separable data and matches scikit-learn's ``C = 1 / (lam n)``.

>>> sigmoid(np.array([0.0])).tolist()
[0.5]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), written so neither branch overflows."""
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


@dataclass(frozen=True)
class LogisticConfig:
    lr: float = 0.5
    epochs: int = 5000
    l2: float = 0.0
    tol: float = 1e-10

    def __post_init__(self) -> None:
        assert self.lr > 0 and self.epochs > 0 and self.l2 >= 0 and self.tol >= 0


@dataclass
class LogisticRegressionGD:
    config: LogisticConfig = field(default_factory=LogisticConfig)
    coef: np.ndarray | None = None
    intercept: float = 0.0
    losses: list[float] = field(default_factory=list)

    def loss(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
        p = np.clip(sigmoid(x @ w + b), 1e-15, 1 - 1e-15)
        ce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        return float(ce + 0.5 * self.config.l2 * w @ w)

    def fit(self, x: ArrayLike, y: ArrayLike) -> "LogisticRegressionGD":
        x, y = np.asarray(x, float), np.asarray(y, float)
        assert set(np.unique(y)) <= {0.0, 1.0}, "labels must be 0/1"
        w, b = np.zeros(x.shape[1]), 0.0
        self.losses = [self.loss(x, y, w, b)]
        for _ in range(self.config.epochs):
            err = sigmoid(x @ w + b) - y
            w = w - self.config.lr * (x.T @ err / len(y) + self.config.l2 * w)
            b -= self.config.lr * float(err.mean())
            self.losses.append(self.loss(x, y, w, b))
            if abs(self.losses[-2] - self.losses[-1]) < self.config.tol:
                break
        self.coef, self.intercept = w, b
        return self

    def predict_proba(self, x: ArrayLike) -> np.ndarray:
        assert self.coef is not None, "call fit first"
        return sigmoid(np.asarray(x, float) @ self.coef + self.intercept)

    def predict(self, x: ArrayLike) -> np.ndarray:
        return (self.predict_proba(x) >= 0.5).astype(int)
