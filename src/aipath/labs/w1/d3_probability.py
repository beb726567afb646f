"""w1d3 — probability basics: five small problems, each solved exactly and by simulation.

An exact answer and a Monte-Carlo estimate with standard error ``se`` should differ by a
few ``se`` at most; the check bounds that z-score and compares exact answers to SciPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml.probability import (Estimate, bayes_posterior, binomial_pmf, birthday_collision,
                                   expectation, monte_carlo, variance)

LAB = "w1d3"


@dataclass(frozen=True)
class Problem:
    question: str
    solution: str
    exact: float
    sample: Callable[[np.random.Generator, int], np.ndarray]


def _dice_seven(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(1, 7, n) + rng.integers(1, 7, n) == 7


def _sick_given_positive(rng: np.random.Generator, n: int) -> np.ndarray:
    sick = rng.random(n) < 0.01
    positive = np.where(sick, rng.random(n) < 0.99, rng.random(n) < 0.05)
    return sick[positive]


PROBLEMS = (
    Problem("两颗骰子点数和为 7 的概率？ / P(two dice sum to 7)?",
            "6 of 36 equally likely pairs: (1,6)…(6,1) → 1/6", float(Fraction(6, 36)), _dice_seven),
    Problem("患病率 1%，灵敏度 99%，特异度 95%，阳性者真正患病的概率？ / P(sick | positive)?",
            "Bayes: 0.99·0.01 / (0.99·0.01 + 0.05·0.99) = 1/6",
            bayes_posterior(0.01, 0.99, 0.95), _sick_given_positive),
    Problem("公平骰子的期望？ / E[fair die]?", "sum k/6 for k=1..6 = 3.5",
            expectation(range(1, 7), [1 / 6] * 6), lambda rng, n: rng.integers(1, 7, n)),
    Problem("10 次抛硬币恰好 3 次正面？ / P(exactly 3 heads in 10 flips)?",
            "C(10,3) / 2^10 = 120/1024", binomial_pmf(3, 10, 0.5),
            lambda rng, n: rng.binomial(10, 0.5, n) == 3),
    Problem("23 人中至少两人同一天生日？ / P(shared birthday among 23)?",
            "1 - 365·364·…·343 / 365^23 ≈ 0.507", birthday_collision(23),
            lambda rng, n: np.array([len(set(rng.integers(0, 365, 23))) < 23
                                     for _ in range(n)])),
)


def _simulate(n: int) -> list[Estimate]:
    return [monte_carlo(p.sample, n, seed=i) for i, p in enumerate(PROBLEMS)]


def run(out_dir: Path, quick: bool = False) -> RunResult:
    n = 5_000 if quick else 100_000
    estimates = _simulate(n)
    png = out_dir / "exact_vs_simulated.png"
    with figure(png, f"Five problems: exact vs simulation ({n:,} draws)") as ax:
        idx = np.arange(len(PROBLEMS))
        ax.bar(idx - 0.2, [p.exact for p in PROBLEMS], 0.4, label="exact")
        ax.bar(idx + 0.2, [e.value for e in estimates], 0.4,
               yerr=[3 * e.stderr for e in estimates], capsize=4, label="simulated ±3 se")
        ax.set_xticks(idx, [f"Q{i + 1}" for i in idx])
        label(ax, "answers (Q3 is an expectation)", "problem", "value")
    rows = [[f"Q{i + 1}", p.question, p.solution, p.exact, e.value, e.z_score(p.exact)]
            for i, (p, e) in enumerate(zip(PROBLEMS, estimates))]
    report = write_report(out_dir / "report.md", "w1d3 · five probability problems / 概率小题",
                          table(["#", "question", "worked answer", "exact", "simulated", "z"],
                                rows),
                          f"Variance of a fair die / 骰子方差: "
                          f"{variance(range(1, 7), [1 / 6] * 6):.4f} (= 35/12).")
    worst = max(e.z_score(p.exact) for p, e in zip(PROBLEMS, estimates))
    return RunResult(LAB, f"5 problems; simulations within {worst:.2f} standard errors "
                     "of the exact answers.", (png, report))


def check(quick: bool = False) -> CheckResult:
    from scipy import stats

    estimates = _simulate(5_000 if quick else 50_000)
    checks = [Check(f"Q{i + 1} |simulated - exact| in standard errors", e.z_score(p.exact), 4.0)
              for i, (p, e) in enumerate(zip(PROBLEMS, estimates))]
    checks.append(close("Q3 vs scipy randint mean", PROBLEMS[2].exact, stats.randint(1, 7).mean(),
                        1e-12))
    checks.append(close("Q4 vs scipy binom.pmf", PROBLEMS[3].exact, stats.binom.pmf(3, 10, 0.5),
                        1e-12))
    return CheckResult(LAB, tuple(checks))
