"""w1d5 — statistics and estimation: MLE by example, confidence intervals and a t-test.

Example: a coin lands heads 7 times in 10. The likelihood ``p^7 (1-p)^3`` peaks at
``p = 0.7`` — the MLE is the frequency. The lab draws that curve, confirms closed forms
against numerical optimisation, and checks by simulation that a 95 % t-interval really
covers the true mean about 95 % of the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml import inference, mle

LAB = "w1d5"


def _coverage(trials: int, n: int = 15, level: float = 0.95) -> float:
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(trials):
        lo, hi = inference.mean_confidence_interval(rng.normal(2.0, 1.5, n), level)
        hits += lo <= 2.0 <= hi
    return hits / trials


def _numeric_mles(x: np.ndarray, counts: np.ndarray) -> dict[str, tuple[float, float]]:
    from scipy import optimize

    res = optimize.minimize(lambda p: -mle.log_likelihood("normal", (p[0], abs(p[1])), x),
                            [0.0, 1.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000})
    rate = optimize.minimize_scalar(lambda r: -mle.log_likelihood("exponential", (r,), x - x.min()
                                                                   + 0.1),
                                    bounds=(1e-3, 50), method="bounded", options={"xatol": 1e-10})
    lam = optimize.minimize_scalar(lambda r: -mle.log_likelihood("poisson", (r,), counts),
                                   bounds=(1e-3, 50), method="bounded", options={"xatol": 1e-10})
    return {"normal μ": (mle.mle_normal(x)[0], res.x[0]),
            "normal σ": (mle.mle_normal(x)[1], abs(res.x[1])),
            "exponential rate": (mle.mle_exponential(x - x.min() + 0.1), rate.x),
            "poisson λ": (mle.mle_poisson(counts), lam.x)}


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(5.0, 2.0, 200), rng.poisson(3.0, 200)


def run(out_dir: Path, quick: bool = False) -> RunResult:
    p = np.linspace(0.01, 0.99, 300)
    png = out_dir / "mle_coin.png"
    with figure(png, "MLE by example: 7 heads in 10 flips") as ax:
        ll = [mle.log_likelihood("bernoulli", (q,), [1] * 7 + [0] * 3) for q in p]
        ax.plot(p, ll, label="log-likelihood  7 log p + 3 log(1-p)")
        ax.axvline(0.7, color="r", ls="--", label="MLE p̂ = 7/10")
        label(ax, "the likelihood peaks at the observed frequency", "p", "log L(p)")
    x, counts = _data()
    mles = _numeric_mles(x, counts)
    lo, hi = inference.mean_confidence_interval(x)
    test = inference.ttest_1samp(x, 5.3)
    coverage = _coverage(300 if quick else 2000)
    report = write_report(
        out_dir / "report.md", "w1d5 · MLE, confidence interval, t-test / 统计与估计",
        "MLE 例子：抛硬币 10 次 7 次正面，似然 p^7(1-p)^3 在 p=0.7 最大——MLE 就是频率。"
        " / MLE example: 7 heads in 10 → p̂ = 0.7 (see mle_coin.png).",
        table(["parameter", "closed form", "numerical optimum"],
              [[k, float(a), float(b)] for k, (a, b) in mles.items()]),
        f"95% CI of the mean (n=200, true μ=5): [{lo:.3f}, {hi:.3f}]. "
        f"t-test H0: μ=5.3 → t={test.statistic:.3f}, p={test.pvalue:.4f}.",
        f"Coverage of the 95% t-interval by simulation (normal data, n=15; theory says 0.95): {coverage:.3f}.")
    return RunResult(LAB, f"closed-form MLEs equal numerical optima; 95% CI [{lo:.2f}, {hi:.2f}]; "
                     f"simulated coverage {coverage:.3f}.", (png, report))


def check(quick: bool = False) -> CheckResult:
    from scipy import stats

    x, counts = _data()
    checks = [Check(f"|closed - numerical| {k}", abs(float(a) - float(b)), 1e-6)
              for k, (a, b) in _numeric_mles(x, counts).items()]
    ci = inference.mean_confidence_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    checks.append(close("95% CI vs scipy.stats.t.interval", ci, ref, 1e-9))
    ours, theirs = inference.ttest_1samp(x, 5.3), stats.ttest_1samp(x, 5.3)
    checks.append(close("t-test (t, p) vs scipy", [ours.statistic, ours.pvalue],
                        [theirs.statistic, theirs.pvalue], 1e-9))
    trials = 300 if quick else 2000
    se = np.sqrt(0.95 * 0.05 / trials)
    checks.append(Check("|coverage - 0.95| in standard errors",
                        abs(_coverage(trials) - 0.95) / se, 4.0))
    return CheckResult(LAB, tuple(checks))
