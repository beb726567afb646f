"""w2d1 — logistic regression: sigmoid, cross-entropy, and gradient descent by hand.

Trains on scikit-learn's breast-cancer data (569 tumours, 30 standardised measurements),
with a small L2 penalty so the optimum is unique, and compares the weights with
scikit-learn's ``LogisticRegression`` at the matching ``C = 1 / (lambda n)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, write_report
from aipath.labs.datasets import breast_cancer
from aipath.labs.result import CheckResult, RunResult, close
from aipath.ml.logistic import LogisticConfig, LogisticRegressionGD
from aipath.ml.metrics import accuracy

LAB = "w2d1"
L2 = 0.01


def _fit(quick: bool) -> tuple:
    from sklearn.linear_model import LogisticRegression

    data = breast_cancer()
    epochs = 3000 if quick else 20000
    ours = LogisticRegressionGD(LogisticConfig(lr=1.0, epochs=epochs, l2=L2, tol=1e-15))
    ours.fit(data.x_train, data.y_train)
    ref = LogisticRegression(C=1 / (L2 * len(data.y_train)), tol=1e-10, max_iter=10000)
    ref.fit(data.x_train, data.y_train)
    return data, ours, ref


def run(out_dir: Path, quick: bool = False) -> RunResult:
    data, ours, ref = _fit(quick)
    curve = out_dir / "loss_curve.png"
    with figure(curve, "Gradient descent on the cross-entropy (breast cancer)") as ax:
        ax.semilogy(np.arange(len(ours.losses)), np.array(ours.losses) - min(ours.losses) + 1e-12,
                    label="loss - final loss")
        label(ax, "convergence is linear: a straight line on a log scale", "iteration",
              "excess loss")
    coef = out_dir / "coefficients_vs_sklearn.png"
    with figure(coef, "Our weights vs scikit-learn's") as ax:
        ax.scatter(ref.coef_[0], ours.coef, label="30 weights")
        lim = np.abs(ref.coef_).max() * 1.1
        ax.plot([-lim, lim], [-lim, lim], "k--", label="y = x")
        label(ax, "same optimum, two solvers", "sklearn (lbfgs)", "ours (gradient descent)")
    acc_ours = accuracy(data.y_test, ours.predict(data.x_test))
    acc_ref = accuracy(data.y_test, ref.predict(data.x_test))
    report = write_report(
        out_dir / "report.md", "w2d1 · logistic regression by gradient descent / 逻辑回归",
        "p = sigmoid(w·x + b)；交叉熵损失对 w 的梯度是 Xᵀ(p − y)/n ——预测与标签之差乘以输入。"
        " / The cross-entropy gradient is Xᵀ(p − y)/n.",
        f"- iterations: {len(ours.losses) - 1}, final loss {ours.losses[-1]:.5f}\n"
        f"- test accuracy: ours {acc_ours:.3f}, sklearn {acc_ref:.3f}\n"
        f"- max |w_ours − w_sklearn| = {np.abs(ours.coef - ref.coef_[0]).max():.2e}")
    return RunResult(LAB, f"test accuracy {acc_ours:.3f} (sklearn {acc_ref:.3f}); weights agree "
                     f"to {np.abs(ours.coef - ref.coef_[0]).max():.1e}.", (curve, coef, report))


def check(quick: bool = False) -> CheckResult:
    data, ours, ref = _fit(quick)
    return CheckResult(LAB, (
        close("weights vs sklearn LogisticRegression", ours.coef, ref.coef_[0], 1e-3),
        close("intercept vs sklearn", ours.intercept, ref.intercept_[0], 1e-3),
        close("test probabilities vs sklearn", ours.predict_proba(data.x_test),
              ref.predict_proba(data.x_test)[:, 1], 1e-3),
    ))
