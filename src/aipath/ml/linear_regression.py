"""Ordinary least squares two ways: the normal equations and QR.

Minimising ``||y - X b||^2`` and setting the gradient ``-2 X^T (y - X b)`` to zero gives
``X^T X b = X^T y``. An intercept is a column of ones prepended to ``X``.

>>> fit = fit_ols([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
>>> round(fit.intercept, 6), np.round(fit.coef, 6).tolist()
(1.0, [2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from aipath.ml.qr import back_substitute, householder_qr


@dataclass(frozen=True)
class LinearFit:
    intercept: float
    coef: np.ndarray

    def predict(self, x: ArrayLike) -> np.ndarray:
        return np.asarray(x, float) @ self.coef + self.intercept


def _design(x: ArrayLike) -> np.ndarray:
    x = np.asarray(x, float)
    return np.column_stack([np.ones(len(x)), x])


def fit_ols(x: ArrayLike, y: ArrayLike, method: str = "qr") -> LinearFit:
    """``method="normal"`` solves X^T X b = X^T y; ``"qr"`` solves R b = Q^T y."""
    design, y = _design(x), np.asarray(y, float)
    if method == "normal":
        beta = np.linalg.solve(design.T @ design, design.T @ y)
    elif method == "qr":
        q, r = householder_qr(design)
        beta = back_substitute(r, q.T @ y)
    else:
        raise ValueError(f"method must be 'normal' or 'qr', got {method!r}")
    return LinearFit(float(beta[0]), beta[1:])


def r2_score(y: ArrayLike, pred: ArrayLike) -> float:
    """1 - SS_res / SS_tot: the share of the variance the model explains."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
