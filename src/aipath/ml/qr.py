"""QR decomposition by Householder reflections.

Each step reflects the current column onto a multiple of ``e1`` with
``H = I - 2 v v^T / (v^T v)``, zeroing everything below the diagonal. Reflections are
orthogonal, so ``Q = H1 H2 ... Hk`` is too, and ``R`` is what is left: upper triangular.
Least squares via QR (``R b = Q^T y``) avoids squaring the condition number, which the
normal equations ``X^T X b = X^T y`` do.

>>> q, r = householder_qr(np.array([[3.0], [4.0]]))
>>> np.round(np.abs(r), 6).tolist()
[[5.0]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def householder_qr(a: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Thin QR of an ``m x n`` matrix (m >= n): Q is ``m x n`` orthonormal, R ``n x n``."""
    r = np.array(a, dtype=float)
    m, n = r.shape
    assert m >= n, "thin QR needs at least as many rows as columns"
    q = np.eye(m)
    for k in range(n):
        x = r[k:, k]
        alpha = -np.copysign(np.linalg.norm(x), x[0]) if x[0] != 0 else -np.linalg.norm(x)
        v = x.copy()
        v[0] -= alpha
        vnorm = np.linalg.norm(v)
        if vnorm == 0.0:
            continue
        v /= vnorm
        r[k:, k:] -= 2.0 * np.outer(v, v @ r[k:, k:])
        q[:, k:] -= 2.0 * np.outer(q[:, k:] @ v, v)
    return q[:, :n], np.triu(r[:n])


def back_substitute(r: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve an upper-triangular system from the last row up."""
    n = r.shape[0]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):
        x[i] = (b[i] - r[i, i + 1:] @ x[i + 1:]) / r[i, i]
    return x
