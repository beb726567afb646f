"""w2d6 — model evaluation: confusion matrix, precision/recall/F1, ROC and AUC on real data.

Our logistic regression scores the breast-cancer test set; every metric is computed by
``aipath.ml.metrics`` and compared with ``sklearn.metrics``. Class 1 is *benign* in this
data set, so the report also scores *malignant* as the positive class, which is the
clinically interesting one (a missed malignancy is a false negative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.datasets import breast_cancer
from aipath.labs.result import CheckResult, RunResult, close
from aipath.ml import metrics
from aipath.ml.logistic import LogisticConfig, LogisticRegressionGD

LAB = "w2d6"


def _scores() -> tuple[np.ndarray, np.ndarray]:
    """Malignant = positive: y = 1 - target, score = 1 - P(benign)."""
    d = breast_cancer()
    model = LogisticRegressionGD(LogisticConfig(lr=0.5, epochs=2000, l2=0.01)).fit(d.x_train,
                                                                                  d.y_train)
    return 1 - d.y_test, 1 - model.predict_proba(d.x_test)


def run(out_dir: Path, quick: bool = False) -> RunResult:
    y, score = _scores()
    pred = (score >= 0.5).astype(int)
    cm = metrics.confusion_matrix(y, pred)
    cm_png = out_dir / "confusion_matrix.png"
    with figure(cm_png, "Confusion matrix (positive = malignant)") as ax:
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=16,
                    color="white" if v > cm.max() / 2 else "black")
        ax.set_xticks([0, 1], ["benign", "malignant"])
        ax.set_yticks([0, 1], ["benign", "malignant"])
        label(ax, "rows: truth, columns: prediction", "predicted", "actual")
    fpr, tpr, _ = metrics.roc_curve(y, score)
    auc = metrics.auc(fpr, tpr)
    roc_png = out_dir / "roc.png"
    with figure(roc_png, "ROC curve, logistic regression") as ax:
        ax.plot(fpr, tpr, label=f"ours, AUC = {auc:.4f}")
        ax.plot([0, 1], [0, 1], "k--", label="chance")
        label(ax, "every threshold from strict to lax", "false positive rate", "true positive rate")
    p, r, f1 = metrics.precision_recall_f1(y, pred)
    report = write_report(
        out_dir / "report.md", "w2d6 · evaluation metrics / 模型评估",
        table(["metric", "value"], [["accuracy", metrics.accuracy(y, pred)], ["precision", p],
                                    ["recall", r], ["F1", f1], ["ROC AUC", auc]]),
        "Precision：判为恶性的里有多少真是恶性；Recall：真正恶性的里找出了多少。医疗筛查更看重 "
        "recall（漏诊代价高），可以降低阈值换取更高 recall。 / Screening favours recall: lower "
        "the threshold to trade precision for fewer missed malignancies.")
    return RunResult(LAB, f"precision {p:.3f}, recall {r:.3f}, F1 {f1:.3f}, AUC {auc:.4f}.",
                     (cm_png, roc_png, report))


def check(quick: bool = False) -> CheckResult:
    from sklearn import metrics as skm

    y, score = _scores()
    pred = (score >= 0.5).astype(int)
    fpr, tpr, _ = metrics.roc_curve(y, score)
    rf, rt, _ = skm.roc_curve(y, score, drop_intermediate=False)
    return CheckResult(LAB, (
        close("confusion matrix", metrics.confusion_matrix(y, pred), skm.confusion_matrix(y, pred),
              0),
        close("precision, recall, F1", metrics.precision_recall_f1(y, pred),
              skm.precision_recall_fscore_support(y, pred, average="binary")[:3], 1e-12),
        close("ROC fpr", fpr, rf, 1e-12), close("ROC tpr", tpr, rt, 1e-12),
        close("AUC vs roc_auc_score", metrics.roc_auc(y, score), skm.roc_auc_score(y, score),
              1e-12),
    ))
