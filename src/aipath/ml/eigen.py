"""Eigen-decomposition by power iteration with deflation, and the SVD built on it.

Power iteration: repeatedly multiply a vector by a symmetric matrix ``S`` and normalise;
the component along the dominant eigenvector grows fastest, so the vector turns into it.
Deflation (``S - lambda v v^T``) removes that direction, and the next one surfaces.
The SVD of ``A`` follows from ``A^T A = V diag(s^2) V^T`` and ``u_i = A v_i / s_i``.

>>> vals, _ = eigh_power(np.array([[2.0, 1.0], [1.0, 2.0]]))
>>> np.round(vals, 6).tolist()
[3.0, 1.0]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def power_iteration(s: np.ndarray, tol: float = 1e-10, max_iter: int = 20_000,
                    seed: int = 0) -> tuple[float, np.ndarray]:
    """Dominant (largest |lambda|) eigenpair of a symmetric matrix.

    Stops when the residual ``||S v - lambda v||`` is below ``tol * ||S||``: the eigenvalue
    converges twice as fast as the vector, so the vector is the one to wait for.
    """
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(s.shape[0])
    v /= np.linalg.norm(v)
    scale = max(np.linalg.norm(s), 1e-300)
    lam = float(v @ s @ v)
    for _ in range(max_iter):
        w = s @ v
        norm = np.linalg.norm(w)
        if norm <= 1e-14 * scale:  # the (deflated) matrix is numerically zero
            return 0.0, v
        v = w / norm
        lam = float(v @ s @ v)
        if np.linalg.norm(s @ v - lam * v) <= tol * scale:
            break
    return lam, v


def eigh_power(s: ArrayLike, k: int | None = None, tol: float = 1e-10,
               max_iter: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` eigenpairs of a symmetric PSD matrix, largest first (columns are vectors)."""
    s = np.array(s, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or not np.allclose(s, s.T):
        raise ValueError("eigh_power needs a square symmetric matrix")
    k = s.shape[0] if k is None else k
    vals, vecs = [], []
    for i in range(k):
        lam, v = power_iteration(s, tol, max_iter, seed=i)
        vals.append(lam)
        vecs.append(v)
        s = s - lam * np.outer(v, v)
    return np.array(vals), np.column_stack(vecs)


def svd_power(a: ArrayLike, k: int | None = None, tol: float = 1e-10,
              max_iter: int = 20_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``A ~ U diag(s) V^T`` with the top ``k`` singular triplets."""
    a = np.asarray(a, dtype=float)
    k = min(a.shape) if k is None else k
    gram_on_rows = a.shape[0] < a.shape[1]
    gram = a @ a.T if gram_on_rows else a.T @ a
    lams, vecs = eigh_power(gram, k, tol, max_iter)
    s = np.sqrt(np.clip(lams, 0.0, None))
    safe = np.where(s > 0, s, 1.0)
    if gram_on_rows:
        u = vecs
        vt = (a.T @ u / safe).T
    else:
        vt = vecs.T
        u = a @ vecs / safe
    return u, s, vt


def low_rank(u: np.ndarray, s: np.ndarray, vt: np.ndarray, rank: int) -> np.ndarray:
    """Best rank-``rank`` approximation (Eckart–Young): keep the largest singular values."""
    return (u[:, :rank] * s[:rank]) @ vt[:rank]
