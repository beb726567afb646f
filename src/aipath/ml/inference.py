"""Confidence intervals and t-tests from first principles.

The t statistic ``(mean - mu0) / (s / sqrt(n))`` follows Student's t with ``n - 1``
degrees of freedom; its CDF is a regularised incomplete beta function (the one special
function borrowed from SciPy), and quantiles come from bisection on that CDF.

>>> round(t_cdf(0.0, df=5), 6)
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betainc


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) = 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2), mirrored for t < 0."""
    tail = 0.5 * float(betainc(df / 2, 0.5, df / (df + t * t)))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(q: float, df: float, tol: float = 1e-12) -> float:
    """Inverse of :func:`t_cdf` by bisection (the CDF is monotone)."""
    assert 0 < q < 1
    lo, hi = -1.0, 1.0
    while t_cdf(lo, df) > q:
        lo *= 2
    while t_cdf(hi, df) < q:
        hi *= 2
    while hi - lo > tol * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < q else (lo, mid)
    return 0.5 * (lo + hi)


def mean_confidence_interval(x: ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """mean +- t_{(1+level)/2, n-1} * s / sqrt(n)."""
    x = np.asarray(x, float)
    n = x.size
    assert n > 1 and 0 < level < 1
    half = t_quantile((1 + level) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean() - half), float(x.mean() + half)


@dataclass(frozen=True)
class TTest:
    statistic: float
    df: float
    pvalue: float


def _two_sided(t: float, df: float) -> TTest:
    return TTest(t, df, 2 * min(t_cdf(t, df), 1 - t_cdf(t, df)))


def ttest_1samp(x: ArrayLike, mu0: float) -> TTest:
    """Is the mean of ``x`` different from ``mu0``? (two-sided)"""
    x = np.asarray(x, float)
    t = (x.mean() - mu0) / (x.std(ddof=1) / math.sqrt(x.size))
    return _two_sided(float(t), x.size - 1)


def ttest_ind(a: ArrayLike, b: ArrayLike, equal_var: bool = False) -> TTest:
    """Two independent samples: pooled variance, or Welch's with Satterthwaite's df."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb, na, nb = a.var(ddof=1), b.var(ddof=1), a.size, b.size
    if equal_var:
        df = na + nb - 2
        pooled = ((na - 1) * va + (nb - 1) * vb) / df
        se = math.sqrt(pooled * (1 / na + 1 / nb))
    else:
        se = math.sqrt(va / na + vb / nb)
        df = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return _two_sided(float((a.mean() - b.mean()) / se), float(df))
