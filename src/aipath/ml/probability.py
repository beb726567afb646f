"""Probability by exact computation and by simulation, so each can check the other.

A Monte-Carlo estimate of ``P(event)`` from ``n`` draws has standard error
``sqrt(p (1 - p) / n)``; an exact answer should sit within a few standard errors of it.

>>> bayes_posterior(prior=0.01, sensitivity=0.99, specificity=0.95)  # doctest: +ELLIPSIS
0.1666...
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Estimate:
    value: float
    stderr: float

    def z_score(self, exact: float) -> float:
        """How many standard errors the estimate lies from an exact value."""
        return abs(self.value - exact) / self.stderr if self.stderr > 0 else math.inf * (
            self.value != exact)


def monte_carlo(sample: Callable[[np.random.Generator, int], np.ndarray], n: int,
                seed: int = 0) -> Estimate:
    """Mean of the values ``sample(rng, n)`` returns (0/1 for an event) and its stderr.

    A sampler may return fewer than ``n`` values, e.g. when it conditions by rejection.
    """
    values = np.asarray(sample(np.random.default_rng(seed), n), dtype=float)
    assert values.ndim == 1 and values.size > 1, "need at least two draws for a stderr"
    return Estimate(float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size)))


def expectation(values: ArrayLike, probs: ArrayLike) -> float:
    """E[X] = sum x p(x) for a discrete random variable."""
    values, probs = np.asarray(values, float), np.asarray(probs, float)
    assert np.isclose(probs.sum(), 1.0) and (probs >= 0).all(), "probs must be a distribution"
    return float(values @ probs)


def variance(values: ArrayLike, probs: ArrayLike) -> float:
    """Var[X] = E[X^2] - E[X]^2."""
    mean = expectation(values, probs)
    return expectation(np.asarray(values, float) ** 2, probs) - mean**2


def binomial_pmf(k: int, n: int, p: float) -> float:
    """P(K = k) for K ~ Binomial(n, p): choose which k trials succeed."""
    if not 0 <= k <= n:
        return 0.0
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def bayes_posterior(prior: float, sensitivity: float, specificity: float) -> float:
    """P(condition | positive test) = P(+|c) P(c) / P(+)."""
    positive = sensitivity * prior + (1 - specificity) * (1 - prior)
    return sensitivity * prior / positive


def birthday_collision(people: int, days: int = 365) -> float:
    """P(at least two of ``people`` share a birthday) = 1 - prod (days - i) / days."""
    return 1.0 - math.prod((days - i) / days for i in range(people))
