"""w1d4 — distributions: normal, Bernoulli, Poisson, exponential, with parameter sweeps.

Each panel draws the density (or pmf) for several parameter values, and under it a
histogram of 20k draws from our own uniform-only samplers, so shape and sampler can be
compared by eye; the check compares them with SciPy by numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, write_report
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml import distributions as D

LAB = "w1d4"


def run(out_dir: Path, quick: bool = False) -> RunResult:
    n = 4_000 if quick else 20_000
    rng = np.random.default_rng(0)
    png = out_dir / "distributions.png"
    with figure(png, "Four distributions as their parameters change", ncols=2, nrows=2) as axes:
        x = np.linspace(-6, 6, 400)
        for mu, sigma in [(0, 1), (0, 2), (2, 0.7)]:
            line, = axes[0].plot(x, D.normal_pdf(x, mu, sigma), label=f"μ={mu}, σ={sigma}")
            axes[0].hist(D.sample_normal(rng, n, mu, sigma), bins=60, density=True, alpha=0.2,
                         color=line.get_color())
        label(axes[0], "Normal N(μ, σ²)", "x", "density")
        for i, p in enumerate([0.2, 0.5, 0.9]):
            freq = D.sample_bernoulli(rng, n, p).mean()
            axes[1].bar(np.array([0, 1]) + 0.25 * i - 0.25, D.bernoulli_pmf([0, 1], p), 0.22,
                        label=f"p={p} (sampled P(1)={freq:.2f})")
        axes[1].set_xticks([0, 1])
        label(axes[1], "Bernoulli(p)", "k", "P(X = k)")
        k = np.arange(0, 21)
        for lam in [1, 4, 10]:
            line, = axes[2].plot(k, D.poisson_pmf(k, lam), "o-", label=f"λ={lam}")
            counts = np.bincount(D.sample_poisson(rng, n // 4, lam), minlength=21)[:21]
            axes[2].plot(k, counts / (n // 4), "x", color=line.get_color())
        label(axes[2], "Poisson(λ)  (x = sampled frequency)", "k", "P(X = k)")
        t = np.linspace(0, 5, 300)
        for rate in [0.5, 1, 3]:
            line, = axes[3].plot(t, D.exponential_pdf(t, rate), label=f"rate={rate}")
            axes[3].hist(D.sample_exponential(rng, n, rate), bins=80, range=(0, 5), density=True,
                         alpha=0.2, color=line.get_color())
        label(axes[3], "Exponential(rate)", "x", "density")
    report = write_report(
        out_dir / "report.md", "w1d4 · distributions / 概率分布",
        "- 正态：μ 平移曲线，σ 控制宽度（σ 越大越矮越宽，面积恒为 1）。 Normal: μ shifts, σ widens.\n"
        "- 伯努利：一次试验，P(1)=p，方差 p(1-p) 在 p=0.5 最大。 Bernoulli: variance peaks at p=½.\n"
        "- 泊松：单位时间内事件数，均值=方差=λ；λ 大时接近正态。 Poisson: mean = variance = λ.\n"
        "- 指数：等待时间，无记忆性，均值 1/rate。 Exponential: memoryless waiting time.",
        "Histograms and crosses are draws from the samplers in `aipath.ml.distributions` "
        "(Box–Muller, inverse CDF, Knuth). / 直方图来自手写采样器。")
    return RunResult(LAB, "4 panels: normal, Bernoulli, Poisson, exponential with sampled "
                     "histograms overlaid.", (png, report))


def check(quick: bool = False) -> CheckResult:
    from scipy import stats

    x, k = np.linspace(-5, 8, 200), np.arange(0, 30)
    rng = np.random.default_rng(1)
    n = 3_000 if quick else 20_000
    ks_normal = stats.kstest(D.sample_normal(rng, n, 1, 2), stats.norm(1, 2).cdf).pvalue
    ks_expon = stats.kstest(D.sample_exponential(rng, n, 2.0), stats.expon(scale=0.5).cdf).pvalue
    poisson = D.sample_poisson(rng, n, 4.0)
    return CheckResult(LAB, (
        close("normal pdf vs scipy", D.normal_pdf(x, 1, 2), stats.norm.pdf(x, 1, 2), 1e-14),
        close("poisson pmf vs scipy", D.poisson_pmf(k, 4.0), stats.poisson.pmf(k, 4.0), 1e-14),
        close("exponential pdf vs scipy", D.exponential_pdf(x, 2.0),
              stats.expon.pdf(x, scale=0.5), 1e-14),
        close("bernoulli pmf vs scipy", D.bernoulli_pmf([0, 1], 0.3),
              stats.bernoulli.pmf([0, 1], 0.3), 1e-15),
        Check("KS p-value, normal sampler", ks_normal, 1e-3, at_least=True),
        Check("KS p-value, exponential sampler", ks_expon, 1e-3, at_least=True),
        Check("poisson sampler |mean - λ| in standard errors",
              abs(poisson.mean() - 4.0) / np.sqrt(4.0 / n), 4.0),
    ))
