"""w1d1 — vectors and matrices: matrix multiplication by hand, checked against NumPy.

Runs the triple loop, the row-wise and the blocked product on square matrices of growing
size, times them next to ``numpy @`` (BLAS), and checks every result and two identities:
``A I = A`` and ``(AB)^T = B^T A^T``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.result import CheckResult, RunResult, close
from aipath.ml.matmul import matmul_blocked, matmul_naive, matmul_rowwise

LAB = "w1d1"
METHODS = {"naive (3 loops)": matmul_naive, "row-wise": matmul_rowwise,
           "blocked (16)": lambda a, b: matmul_blocked(a, b, 16), "numpy @": np.matmul}


def _seconds(f, a: np.ndarray, b: np.ndarray) -> float:
    start = time.perf_counter()
    f(a, b)
    return time.perf_counter() - start


def run(out_dir: Path, quick: bool = False) -> RunResult:
    sizes = [4, 8, 16, 32] if quick else [8, 16, 32, 64, 96, 128]
    rng = np.random.default_rng(0)
    times = {name: [] for name in METHODS}
    for n in sizes:
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        for name, f in METHODS.items():
            times[name].append(_seconds(f, a, b))
    png = out_dir / "matmul_time.png"
    with figure(png, "Matrix multiply: time vs size (log-log)") as ax:
        for name, ts in times.items():
            ax.loglog(sizes, ts, marker="o", label=name)
        label(ax, "n x n times n x n", "n", "seconds")
    rows = [[n, *(times[m][i] * 1e3 for m in METHODS)] for i, n in enumerate(sizes)]
    verdict = check(quick)
    report = write_report(
        out_dir / "report.md", "w1d1 · matrix multiplication / 矩阵乘法",
        "Time in milliseconds (one run each; BLAS wins by orders of magnitude because it "
        "is compiled, vectorised and cache-blocked). / 毫秒；NumPy 调用 BLAS，快几个数量级。",
        table(["n", *METHODS], rows),
        "Correctness against `numpy @` / 与 NumPy 对比:\n\n" + "\n".join(
            f"- {c.describe()}" for c in verdict.checks))
    ratio = times["naive (3 loops)"][-1] / max(times["numpy @"][-1], 1e-9)
    return RunResult(LAB, f"n={sizes[-1]}: naive loop is {ratio:,.0f}x slower than numpy @; "
                     f"all products agree to {max(c.value for c in verdict.checks):.1e}.",
                     (png, report))


def check(quick: bool = False) -> CheckResult:
    rng = np.random.default_rng(1)
    checks = []
    for n, m, p in [(5, 7, 3), (16, 16, 16), (33, 20, 17)]:
        a, b = rng.standard_normal((n, m)), rng.standard_normal((m, p))
        for name, f in METHODS.items():
            if name != "numpy @":
                checks.append(close(f"{name} {n}x{m}x{p}", f(a, b), a @ b, 1e-10))
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    checks.append(close("A I = A", matmul_naive(a, np.eye(4)), a, 1e-12))
    checks.append(close("(AB)^T = B^T A^T", matmul_naive(a, b).T, matmul_naive(b.T, a.T), 1e-12))
    return CheckResult(LAB, tuple(checks))
