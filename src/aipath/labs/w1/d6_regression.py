"""w1d6 — linear regression: OLS by the normal equations and by QR, vs scikit-learn.

Data: scikit-learn's diabetes set (442 patients, 10 standardised features, disease
progression after a year). Because the features share a scale, a coefficient reads as
"progression units per one unit of that feature, the others held fixed".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.result import CheckResult, RunResult, close
from aipath.ml.linear_regression import fit_ols, r2_score

LAB = "w1d6"


def _data() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    return d.data, d.target, list(d.feature_names)


def run(out_dir: Path, quick: bool = False) -> RunResult:
    x, y, names = _data()
    fit = fit_ols(x, y, "qr")
    order = np.argsort(np.abs(fit.coef))[::-1]
    coef_png = out_dir / "coefficients.png"
    with figure(coef_png, "OLS coefficients on the diabetes data") as ax:
        ax.barh([names[i] for i in order][::-1], fit.coef[order][::-1],
                color=["tab:red" if c < 0 else "tab:blue" for c in fit.coef[order][::-1]])
        label(ax, "blue raises, red lowers predicted progression", "coefficient", "feature")
    pred_png = out_dir / "predicted_vs_actual.png"
    r2 = r2_score(y, fit.predict(x))
    with figure(pred_png, f"Predicted vs actual (R² = {r2:.3f})") as ax:
        ax.scatter(y, fit.predict(x), s=10, alpha=0.6, label="patients")
        ax.plot([y.min(), y.max()], [y.min(), y.max()], "k--", label="perfect prediction")
        label(ax, "OLS via Householder QR", "actual progression", "predicted")
    rows = [[names[i], float(fit.coef[i])] for i in order]
    report = write_report(
        out_dir / "report.md", "w1d6 · linear regression / 线性回归",
        "推导：最小化 ||y - Xb||²，对 b 求导得 Xᵀ(y - Xb) = 0，即正规方程 XᵀX b = Xᵀy。"
        "QR 解法 X = QR ⇒ R b = Qᵀy，避免条件数平方。 / Normal equations vs QR.",
        table(["feature", "coefficient"], rows),
        f"Intercept {fit.intercept:.2f} (mean progression, since features are centred); "
        f"R² = {r2:.3f}. 解释：`bmi`、`s5`（血清甘油三酯的对数）系数最大且为正——体重指数每增加一个"
        "（标准化）单位，预测病情进展增加约该系数；`s1` 与 `s2` 符号相反且都很大，是因为二者高度"
        "相关（共线性），单个系数不宜孤立解读。 / bmi and s5 push progression up; s1/s2 are large "
        "with opposite signs because they are collinear — read them together.")
    return RunResult(LAB, f"R² = {r2:.3f}; strongest features: "
                     f"{', '.join(names[i] for i in order[:3])}.", (coef_png, pred_png, report))


def check(quick: bool = False) -> CheckResult:
    from sklearn.linear_model import LinearRegression

    x, y, _ = _data()
    ref = LinearRegression().fit(x, y)
    checks = []
    for method in ("normal", "qr"):
        fit = fit_ols(x, y, method)
        checks.append(close(f"{method} coefficients vs sklearn", fit.coef, ref.coef_, 1e-6))
        checks.append(close(f"{method} intercept vs sklearn", fit.intercept, ref.intercept_,
                            1e-8))
    checks.append(close("R² vs sklearn", r2_score(y, fit.predict(x)), ref.score(x, y), 1e-12))
    return CheckResult(LAB, tuple(checks))
