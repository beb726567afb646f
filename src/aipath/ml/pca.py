"""PCA through the SVD of the centred data.

With ``X - mean = U S V^T``, the rows of ``V^T`` are the principal directions, the
projections are ``U S``, and the variance along direction ``i`` is ``s_i^2 / (n - 1)``.
Signs are fixed so the largest-magnitude entry of each direction is positive, which makes
runs reproducible (an SVD is only unique up to sign).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass
class PCA:
    n_components: int

    def __post_init__(self) -> None:
        assert self.n_components >= 1

    def fit(self, x: ArrayLike) -> "PCA":
        x = np.asarray(x, float)
        assert self.n_components <= min(x.shape)
        self.mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
        vt = vt * signs[:, None]
        variance = s**2 / (len(x) - 1)
        self.components = vt[: self.n_components]
        self.explained_variance = variance[: self.n_components]
        self.explained_variance_ratio = self.explained_variance / variance.sum()
        return self

    def transform(self, x: ArrayLike) -> np.ndarray:
        return (np.asarray(x, float) - self.mean) @ self.components.T

    def inverse_transform(self, z: ArrayLike) -> np.ndarray:
        return np.asarray(z, float) @ self.components + self.mean
