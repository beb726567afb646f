"""w2d3 — SVM: margins, the kernel trick, soft margins, compared with logistic regression.

Our linear SVM (hinge loss, dual coordinate descent) is checked against LIBLINEAR on
breast cancer. On two interleaved half-moons a straight boundary (logistic, linear SVM)
cannot separate the classes; an RBF-kernel SVM (scikit-learn) bends around them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import copy_note, figure, label, table, write_report
from aipath.labs.datasets import breast_cancer
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml.logistic import LogisticConfig, LogisticRegressionGD
from aipath.ml.metrics import accuracy
from aipath.ml.svm import LinearSVM, SVMConfig

LAB = "w2d3"
NOTE = "w2d3-svm-vs-logistic.zh-CN.md"


def _moons(n: int):
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.2, random_state=0)
    xt, yt = make_moons(500, noise=0.2, random_state=1)
    return x, y, xt, yt


def _models(x: np.ndarray, y: np.ndarray) -> dict:
    from sklearn.svm import SVC

    return {"logistic (ours)": LogisticRegressionGD(LogisticConfig(lr=0.5, epochs=3000)).fit(x, y),
            "linear SVM (ours)": LinearSVM(SVMConfig(c=1.0)).fit(x, y),
            "RBF-kernel SVM (sklearn)": SVC(kernel="rbf", C=1.0, gamma=2.0).fit(x, y)}


def run(out_dir: Path, quick: bool = False) -> RunResult:
    x, y, xt, yt = _moons(200 if quick else 600)
    models = _models(x, y)
    gx, gy = np.meshgrid(np.linspace(-1.6, 2.6, 200), np.linspace(-1.2, 1.7, 150))
    grid = np.c_[gx.ravel(), gy.ravel()]
    png = out_dir / "boundaries.png"
    with figure(png, "Decision boundaries on two moons", ncols=3) as axes:
        for ax, (name, model) in zip(axes, models.items()):
            ax.contourf(gx, gy, model.predict(grid).reshape(gx.shape), alpha=0.25, cmap="coolwarm")
            ax.scatter(*x.T, c=y, s=8, cmap="coolwarm", label="training points")
            if isinstance(model, LinearSVM):
                sv = model.support_vectors()
                ax.scatter(*x[sv].T, s=30, facecolors="none", edgecolors="k",
                           label=f"{len(sv)} support vectors")
            label(ax, f"{name}: test acc {accuracy(yt, model.predict(xt)):.3f}", "x1", "x2")
    rows = [[name, accuracy(yt, m.predict(xt))] for name, m in models.items()]
    note = copy_note(NOTE, out_dir)
    report = write_report(out_dir / "report.md", "w2d3 · SVM vs logistic regression",
                          table(["model", "test accuracy (moons)"], rows),
                          f"Written comparison / 对比总结: `{NOTE}`.")
    return RunResult(LAB, "; ".join(f"{n}: {a:.3f}" for n, a in rows),
                     tuple(p for p in (png, report, note) if p))


def check(quick: bool = False) -> CheckResult:
    from sklearn.svm import LinearSVC

    d = breast_cancer()
    ours = LinearSVM(SVMConfig(c=0.1, tol=1e-10, epochs=3000)).fit(d.x_train, d.y_train)
    ref = LinearSVC(C=0.1, loss="hinge", dual=True, tol=1e-10, max_iter=200_000).fit(d.x_train,
                                                                                   d.y_train)
    x, y, xt, yt = _moons(200 if quick else 600)
    acc = {n: accuracy(yt, m.predict(xt)) for n, m in _models(x, y).items()}
    return CheckResult(LAB, (
        close("linear SVM weights vs LIBLINEAR (hinge)", ours.coef, ref.coef_[0], 1e-3),
        close("linear SVM bias vs LIBLINEAR", ours.intercept, ref.intercept_[0], 1e-3),
        Check("test predictions agreeing with LIBLINEAR",
              float(np.mean(ours.predict(d.x_test) == ref.predict(d.x_test))), 1.0, at_least=True),
        Check("moons: RBF SVM accuracy - linear SVM accuracy",
              acc["RBF-kernel SVM (sklearn)"] - acc["linear SVM (ours)"], 0.05, at_least=True),
    ))
