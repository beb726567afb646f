"""Matrix multiplication by hand: the textbook triple loop, and a cache-friendly blocked one.

``C[i, j] = sum_k A[i, k] * B[k, j]``. The naive loop touches ``B`` column-wise, which is
slow in row-major memory; the blocked version multiplies ``bs x bs`` tiles so each tile
is reused while it is hot, and hands each tile product to NumPy's vectorised kernel.

>>> matmul_naive([[1, 2], [3, 4]], [[5], [6]]).tolist()
[[17.0], [39.0]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _check_shapes(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"cannot multiply shapes {a.shape} and {b.shape}")


def matmul_naive(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Three nested Python loops: O(n*m*p) scalar multiply-adds, exactly as on paper."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    _check_shapes(a, b)
    n, m = a.shape
    p = b.shape[1]
    c = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            total = 0.0
            for k in range(m):
                total += a[i, k] * b[k, j]
            c[i, j] = total
    return c


def matmul_rowwise(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """One loop over rows: row i of C is a linear combination of B's rows, weighted by A[i]."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    _check_shapes(a, b)
    return np.stack([a[i] @ b for i in range(a.shape[0])]) if a.shape[0] else \
        np.zeros((0, b.shape[1]))


def matmul_blocked(a: ArrayLike, b: ArrayLike, block: int = 64) -> np.ndarray:
    """Tile the product into ``block``-sized squares: C_IJ += A_IK @ B_KJ over tiles K."""
    assert block > 0, "block size must be positive"
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    _check_shapes(a, b)
    n, m = a.shape
    p = b.shape[1]
    c = np.zeros((n, p))
    for i in range(0, n, block):
        for j in range(0, p, block):
            for k in range(0, m, block):
                c[i:i + block, j:j + block] += a[i:i + block, k:k + block] @ b[k:k + block, j:j + block]
    return c
