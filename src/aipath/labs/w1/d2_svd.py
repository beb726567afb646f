"""w1d2 — matrix decompositions: SVD by power iteration, and low-rank image compression.

A grey photo is a matrix; keeping its top ``k`` singular triplets stores ``k (m + n + 1)``
numbers instead of ``m n``. The error of the rank-``k`` image is exactly
``sqrt(sum of the dropped s_i^2)`` (Eckart–Young), which the plot shows against NumPy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import copy_note, figure, label, table, write_report
from aipath.labs.datasets import grey_photo
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml.eigen import eigh_power, low_rank, svd_power

LAB = "w1d2"
NOTE = "w1d2-svd.zh-CN.md"


def _decompose(quick: bool) -> tuple[np.ndarray, tuple, int]:
    img = grey_photo(step=8 if quick else 4)
    k = 20 if quick else 40
    return img, svd_power(img, k=k), k


def run(out_dir: Path, quick: bool = False) -> RunResult:
    img, (u, s, vt), k = _decompose(quick)
    ref_s = np.linalg.svd(img, compute_uv=False)
    ranks = list(range(1, k + 1))
    errors = [np.linalg.norm(img - low_rank(u, s, vt, r)) / np.linalg.norm(img) for r in ranks]
    optimal = [np.sqrt((ref_s[r:] ** 2).sum()) / np.linalg.norm(img) for r in ranks]
    curve = out_dir / "error_vs_rank.png"
    with figure(curve, "Low-rank approximation of a photo") as ax:
        ax.semilogy(ranks, errors, "o-", label="ours: power-iteration SVD")
        ax.semilogy(ranks, optimal, "k--", label="Eckart–Young optimum (numpy s_i)")
        label(ax, "relative Frobenius error vs rank", "rank k", "||A - A_k|| / ||A||")
    shown = [1, 5, max(10, k // 2), k]
    grid = out_dir / "compressed.png"
    with figure(grid, "Rank-k reconstructions (power-iteration SVD)", ncols=len(shown) + 1,
                size=(3.2 * (len(shown) + 1), 3.0)) as axes:
        axes[0].imshow(img, cmap="gray")
        axes[0].set_title(f"original {img.shape[0]}x{img.shape[1]}", fontsize=9)
        for ax, r in zip(axes[1:], shown):
            ax.imshow(np.clip(low_rank(u, s, vt, r), 0, 1), cmap="gray")
            stored = r * (sum(img.shape) + 1) / img.size
            ax.set_title(f"rank {r}: {stored:.0%} of the numbers", fontsize=9)
        for ax in axes:
            ax.axis("off")
    rows = [[r, errors[r - 1], r * (sum(img.shape) + 1) / img.size] for r in shown]
    report = write_report(out_dir / "report.md", "w1d2 · SVD and low-rank compression / 矩阵分解",
                          table(["rank", "relative error", "storage fraction"], rows),
                          f"Note / 笔记: `{NOTE}` (copied next to this report).")
    note = copy_note(NOTE, out_dir)
    return RunResult(LAB, f"rank {shown[2]}: relative error {errors[shown[2] - 1]:.3f} using "
                     f"{rows[2][2]:.0%} of the numbers.",
                     tuple(p for p in (curve, grid, report, note) if p))


def check(quick: bool = False) -> CheckResult:
    img, (u, s, vt), k = _decompose(True)
    ref_s = np.linalg.svd(img, compute_uv=False)[:k]
    rel = np.abs(s - ref_s) / ref_s
    err = np.linalg.norm(img - low_rank(u, s, vt, 10))
    ref_err = np.sqrt((np.linalg.svd(img, compute_uv=False)[10:] ** 2).sum())
    sym = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]])
    vals, _ = eigh_power(sym)
    return CheckResult(LAB, (
        Check("max relative error of singular values vs numpy", float(rel.max()), 1e-6),
        Check("|rank-10 error - Eckart-Young optimum| / optimum",
              abs(err - ref_err) / ref_err, 1e-4),
        close("eigenvalues vs numpy.linalg.eigh", vals, np.linalg.eigvalsh(sym)[::-1], 1e-8),
    ))
