"""w1d7 — review: a small exercise set (matrices, SVD, probability, regression).

The questions and worked answers are in ``docs/notes/w1d7-review.zh-CN.md``; this lab
recomputes every answer with the package's own code and compares it with NumPy, SciPy
and scikit-learn, so the worked answers cannot silently be wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import copy_note, table, write_report
from aipath.labs.result import CheckResult, RunResult, close
from aipath.ml.eigen import eigh_power, low_rank, svd_power
from aipath.ml.linear_regression import fit_ols
from aipath.ml.matmul import matmul_naive
from aipath.ml.probability import binomial_pmf

LAB = "w1d7"
NOTE = "w1d7-review.zh-CN.md"
A = np.array([[1.0, 2.0], [3.0, 4.0]])
B = np.array([[0.0, 1.0], [1.0, 0.0]])
S = np.array([[2.0, 1.0], [1.0, 2.0]])
M = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
XS, YS = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([1.0, 2.9, 5.1, 7.0])


def answers() -> dict[str, np.ndarray]:
    """Each exercise's answer, computed with aipath's own code."""
    u, s, vt = svd_power(M)
    fit = fit_ols(XS, YS)
    return {
        "E1 A·B": matmul_naive(A, B),
        "E2 eigenvalues of [[2,1],[1,2]]": eigh_power(S)[0],
        "E3 singular values of M": s,
        "E4 rank-1 error ||M - M1||_F": np.array(np.linalg.norm(M - low_rank(u, s, vt, 1))),
        "E5 P(sum of two dice >= 10)": np.array(6 / 36),
        "E6 P(2 heads in 4 flips)": np.array(binomial_pmf(2, 4, 0.5)),
        "E7 OLS (intercept, slope)": np.array([fit.intercept, *fit.coef]),
    }


def references() -> dict[str, np.ndarray]:
    from scipy import stats
    from sklearn.linear_model import LinearRegression

    ref = LinearRegression().fit(XS, YS)
    dice = np.add.outer(np.arange(1, 7), np.arange(1, 7))
    return {
        "E1 A·B": A @ B,
        "E2 eigenvalues of [[2,1],[1,2]]": np.linalg.eigvalsh(S)[::-1],
        "E3 singular values of M": np.linalg.svd(M, compute_uv=False),
        "E4 rank-1 error ||M - M1||_F": np.array(np.linalg.svd(M, compute_uv=False)[1]),
        "E5 P(sum of two dice >= 10)": np.array((dice >= 10).mean()),
        "E6 P(2 heads in 4 flips)": np.array(stats.binom.pmf(2, 4, 0.5)),
        "E7 OLS (intercept, slope)": np.array([ref.intercept_, *ref.coef_]),
    }


def run(out_dir: Path, quick: bool = False) -> RunResult:
    ours, refs = answers(), references()
    rows = [[k, np.round(v, 4).tolist(), np.round(refs[k], 4).tolist()] for k, v in ours.items()]
    note = copy_note(NOTE, out_dir)
    report = write_report(out_dir / "answers.md", "w1d7 · review answers / 复习题答案",
                          f"Questions and worked solutions / 题目与详解: `{NOTE}`.",
                          table(["exercise", "aipath", "reference"], rows))
    return RunResult(LAB, f"{len(ours)} exercises recomputed; see {NOTE} for the worked answers.",
                     tuple(p for p in (report, note) if p))


def check(quick: bool = False) -> CheckResult:
    refs = references()
    return CheckResult(LAB, tuple(close(k, v, refs[k], 1e-9) for k, v in answers().items()))
