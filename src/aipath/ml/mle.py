"""Maximum-likelihood estimates: closed forms, and the log-likelihood they maximise.

For i.i.d. data the log-likelihood is a sum; setting its derivative to zero gives, e.g.,
``p_hat = mean(x)`` for Bernoulli and ``rate_hat = 1 / mean(x)`` for exponential data.
Numerical optimisation of :func:`log_likelihood` must land on the same numbers.

>>> mle_bernoulli([1, 0, 1, 1])
0.75
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def mle_normal(x: ArrayLike) -> tuple[float, float]:
    """(mu_hat, sigma_hat): the sample mean and the *biased* (1/n) standard deviation."""
    x = np.asarray(x, float)
    mu = float(x.mean())
    return mu, float(np.sqrt(((x - mu) ** 2).mean()))


def mle_bernoulli(x: ArrayLike) -> float:
    return float(np.mean(np.asarray(x, float)))


def mle_poisson(x: ArrayLike) -> float:
    return float(np.mean(np.asarray(x, float)))


def mle_exponential(x: ArrayLike) -> float:
    """The rate: 1 / mean."""
    return float(1.0 / np.mean(np.asarray(x, float)))


def log_likelihood(family: str, params: tuple[float, ...], x: ArrayLike) -> float:
    """Sum of log densities (or log pmf) of ``x`` under ``family`` with ``params``."""
    x = np.asarray(x, float)
    if family == "normal":
        mu, sigma = params
        return float(-0.5 * np.sum(((x - mu) / sigma) ** 2) - x.size * math.log(
            sigma * math.sqrt(2 * math.pi)))
    if family == "bernoulli":
        (p,) = params
        return float(np.sum(x * math.log(p) + (1 - x) * math.log(1 - p)))
    if family == "poisson":
        (lam,) = params
        log_fact = sum(math.lgamma(v + 1) for v in x)
        return float(np.sum(x) * math.log(lam) - x.size * lam - log_fact)
    if family == "exponential":
        (rate,) = params
        return float(x.size * math.log(rate) - rate * np.sum(x))
    raise ValueError(f"unknown family {family!r}")
