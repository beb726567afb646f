"""Normal, Bernoulli, Poisson and exponential: densities, moments and samplers by hand.

Samplers use only uniform draws: Box–Muller for the normal, the inverse CDF
``-log(1 - U) / rate`` for the exponential, and multiplying uniforms until the product drops
below ``e^{-lam}`` for the Poisson (Knuth).

>>> round(normal_pdf(0.0, 0.0, 1.0), 6)
0.398942
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def normal_pdf(x: ArrayLike, mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    assert sigma > 0, "sigma must be positive"
    z = (np.asarray(x, float) - mu) / sigma
    return np.exp(-0.5 * z**2) / (sigma * math.sqrt(2 * math.pi))


def normal_cdf(x: ArrayLike, mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    """Phi((x - mu) / sigma) via the error function."""
    z = (np.asarray(x, float) - mu) / (sigma * math.sqrt(2))
    return 0.5 * (1 + np.vectorize(math.erf, otypes=[float])(z))


def bernoulli_pmf(k: ArrayLike, p: float) -> np.ndarray:
    assert 0 <= p <= 1
    k = np.asarray(k)
    return np.where(k == 1, p, np.where(k == 0, 1 - p, 0.0))


def poisson_pmf(k: ArrayLike, lam: float) -> np.ndarray:
    """lam^k e^-lam / k!, computed in log space so large k does not overflow."""
    assert lam > 0
    k = np.asarray(k, float)
    safe = np.clip(k, 0, None)
    log_fact = np.vectorize(math.lgamma, otypes=[float])(safe + 1)
    return np.where(k >= 0, np.exp(safe * math.log(lam) - lam - log_fact), 0.0)


def exponential_pdf(x: ArrayLike, rate: float) -> np.ndarray:
    assert rate > 0
    x = np.asarray(x, float)
    return np.where(x >= 0, rate * np.exp(-rate * np.clip(x, 0, None)), 0.0)


def exponential_cdf(x: ArrayLike, rate: float) -> np.ndarray:
    x = np.asarray(x, float)
    return np.where(x >= 0, 1 - np.exp(-rate * np.clip(x, 0, None)), 0.0)


MOMENTS = {
    "normal": lambda mu, sigma: (mu, sigma**2),
    "bernoulli": lambda p: (p, p * (1 - p)),
    "poisson": lambda lam: (lam, lam),
    "exponential": lambda rate: (1 / rate, 1 / rate**2),
}


def sample_normal(rng: np.random.Generator, n: int, mu: float = 0.0,
                  sigma: float = 1.0) -> np.ndarray:
    """Box–Muller: two uniforms -> radius sqrt(-2 log U1), angle 2 pi U2 -> a normal."""
    u1, u2 = 1.0 - rng.random(n), rng.random(n)
    return mu + sigma * np.sqrt(-2 * np.log(u1)) * np.cos(2 * math.pi * u2)


def sample_bernoulli(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    return (rng.random(n) < p).astype(int)


def sample_exponential(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Inverse CDF: solve U = 1 - e^{-rate x} for x."""
    return -np.log(1.0 - rng.random(n)) / rate


def sample_poisson(rng: np.random.Generator, n: int, lam: float) -> np.ndarray:
    """Knuth: count uniforms multiplied until the product falls below e^{-lam}."""
    limit = math.exp(-lam)
    out = np.empty(n, dtype=int)
    for i in range(n):
        k, prod = 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        out[i] = k
    return out
