"""w2d7 — review: concept flash cards for the week, plus one scoreboard.

The cards (``docs/notes/w2d7-cards.zh-CN.md``) say what each algorithm does, its loss,
its knobs and when to use it. The scoreboard runs every from-scratch model of the week on
the same breast-cancer split next to its scikit-learn counterpart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import copy_note, figure, label, table, write_report
from aipath.labs.datasets import breast_cancer
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.ml.forest import ForestConfig, RandomForest
from aipath.ml.knn import KNN
from aipath.ml.logistic import LogisticConfig, LogisticRegressionGD
from aipath.ml.metrics import accuracy
from aipath.ml.svm import LinearSVM, SVMConfig
from aipath.ml.tree import DecisionTree, TreeConfig

LAB = "w2d7"
NOTE = "w2d7-cards.zh-CN.md"


def scoreboard(n_trees: int = 20) -> list[tuple[str, float, float]]:
    """(model, our test accuracy, scikit-learn's) on the same split."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    d = breast_cancer()
    n = len(d.y_train)
    pairs = {
        "logistic regression": (LogisticRegressionGD(LogisticConfig(1.0, 5000, l2=0.01)),
                                LogisticRegression(C=1 / (0.01 * n))),
        "decision tree (depth 4)": (DecisionTree(TreeConfig(max_depth=4)),
                                    DecisionTreeClassifier(max_depth=4, random_state=0)),
        f"random forest ({n_trees})": (RandomForest(ForestConfig(n_trees, TreeConfig(max_features=5))),
                                       RandomForestClassifier(n_trees, max_features=5,
                                                              random_state=0)),
        "linear SVM": (LinearSVM(SVMConfig(c=0.1)), LinearSVC(C=0.1, loss="hinge",
                                                             max_iter=100_000)),
        "k-NN (k=5)": (KNN(5), KNeighborsClassifier(5)),
    }
    rows = []
    for name, (ours, ref) in pairs.items():
        ours.fit(d.x_train, d.y_train)
        ref.fit(d.x_train, d.y_train)
        rows.append((name, accuracy(d.y_test, ours.predict(d.x_test)),
                     accuracy(d.y_test, ref.predict(d.x_test))))
    return rows


def run(out_dir: Path, quick: bool = False) -> RunResult:
    rows = scoreboard(10 if quick else 50)
    png = out_dir / "scoreboard.png"
    with figure(png, "Week 2 scoreboard: breast-cancer test accuracy", size=(8, 4.5)) as ax:
        idx = np.arange(len(rows))
        ax.barh(idx + 0.2, [r[1] for r in rows], 0.4, label="aipath (from scratch)")
        ax.barh(idx - 0.2, [r[2] for r in rows], 0.4, label="scikit-learn")
        ax.set_yticks(idx, [r[0] for r in rows])
        ax.set_xlim(0.85, 1.0)
        label(ax, "same split, same hyper-parameters", "test accuracy", "model")
    note = copy_note(NOTE, out_dir)
    report = write_report(out_dir / "report.md", "w2d7 · flash cards and scoreboard / 速记卡片",
                          f"Cards / 卡片: `{NOTE}`.",
                          table(["model", "aipath", "scikit-learn"], rows))
    return RunResult(LAB, "; ".join(f"{r[0]} {r[1]:.3f}" for r in rows),
                     tuple(p for p in (png, report, note) if p))


def check(quick: bool = False) -> CheckResult:
    rows = scoreboard(10)
    exact = {"logistic regression", "linear SVM", "k-NN (k=5)"}  # same optimum / same rule
    return CheckResult(LAB, tuple(
        Check(f"|accuracy - sklearn| {name}", abs(ours - ref),
              0.005 if name in exact else 0.05) for name, ours, ref in rows))
