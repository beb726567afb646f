"""w2d2 — decision trees and random forests: information gain, overfitting, pruning.

Grows our CART tree and scikit-learn's on the breast-cancer data, draws scikit-learn's
(``plot_tree``) and ours (as text), and walks the cost-complexity pruning path: as alpha
grows the tree shrinks, training accuracy falls and test accuracy first rises — the
overfitting the pruning removes. A random forest of our trees closes the table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.datasets import breast_cancer
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml.forest import ForestConfig, RandomForest
from aipath.ml.metrics import accuracy
from aipath.ml.pruning import prune, pruning_path
from aipath.ml.tree import DecisionTree, TreeConfig

LAB = "w2d2"


def _data():
    d = breast_cancer()
    f32 = lambda a: a.astype(np.float32).astype(float)  # noqa: E731 — sklearn trees use float32
    return f32(d.x_train), d.y_train, f32(d.x_test), d.y_test


def run(out_dir: Path, quick: bool = False) -> RunResult:
    from sklearn.datasets import load_breast_cancer
    from sklearn.tree import DecisionTreeClassifier, plot_tree

    x, y, xt, yt = _data()
    names = list(load_breast_cancer().feature_names)
    tree = DecisionTree(TreeConfig("gini")).fit(x, y)
    alphas, _ = pruning_path(tree)
    pruned = [prune(tree, a) for a in alphas]
    path_png = out_dir / "pruning.png"
    with figure(path_png, "Cost-complexity pruning: accuracy vs alpha") as ax:
        ax.plot(alphas, [accuracy(y, p.predict(x)) for p in pruned], "o-", drawstyle="steps-post",
                label="train")
        ax.plot(alphas, [accuracy(yt, p.predict(xt)) for p in pruned], "s-",
                drawstyle="steps-post", label="test")
        ax.set_xscale("symlog", linthresh=1e-3)
        label(ax, "bigger alpha = smaller tree", "ccp_alpha", "accuracy")
    small = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    tree_png = out_dir / "tree_depth3.png"
    with figure(tree_png, "Depth-3 tree (sklearn.tree.plot_tree)", size=(16, 7)) as ax:
        plot_tree(small, feature_names=names, class_names=["malignant", "benign"], filled=True,
                  ax=ax, fontsize=8)
    text = out_dir / "our_tree.txt"
    text.write_text(DecisionTree(TreeConfig(max_depth=3)).fit(x, y).export_text(names))
    sizes = [1, 5, 20] if quick else [1, 5, 20, 50]
    forests = [RandomForest(ForestConfig(n, TreeConfig(max_features=6), seed=0)).fit(x, y)
               for n in sizes]
    best = pruned[int(np.argmax([accuracy(yt, p.predict(xt)) for p in pruned]))]
    rows = [["full tree", tree.n_leaves(), accuracy(y, tree.predict(x)),
             accuracy(yt, tree.predict(xt))],
            ["best pruned", best.n_leaves(), accuracy(y, best.predict(x)),
             accuracy(yt, best.predict(xt))]]
    rows += [[f"forest of {n}", "-", accuracy(y, f.predict(x)), accuracy(yt, f.predict(xt))]
             for n, f in zip(sizes, forests)]
    report = write_report(
        out_dir / "report.md", "w2d2 · trees, pruning, forests / 决策树与随机森林",
        "信息增益 = 父节点不纯度 − 子节点加权不纯度；完全生长的树把训练集记住（训练准确率 1.0），"
        "剪枝用 α·叶子数 惩罚复杂度；随机森林靠 bootstrap + 随机特征平均掉方差。",
        table(["model", "leaves", "train acc", "test acc"], rows),
        "Artefacts: `tree_depth3.png` (sklearn), `our_tree.txt` (ours), `pruning.png`.")
    return RunResult(LAB, f"full tree {tree.n_leaves()} leaves, test acc {rows[0][3]:.3f}; best "
                     f"pruned {best.n_leaves()} leaves, {rows[1][3]:.3f}; forest of {sizes[-1]}: "
                     f"{rows[-1][3]:.3f}.", (tree_png, text, path_png, report))


def check(quick: bool = False) -> CheckResult:
    from sklearn.tree import DecisionTreeClassifier

    x, y, xt, yt = _data()
    checks = []
    for criterion in ("gini", "entropy"):
        ours = DecisionTree(TreeConfig(criterion)).fit(x, y)
        ref = DecisionTreeClassifier(criterion=criterion, random_state=0).fit(x, y)
        checks.append(Check(f"|leaves - sklearn| ({criterion})",
                            abs(ours.n_leaves() - ref.get_n_leaves()), 0))
        checks.append(Check(f"|depth - sklearn| ({criterion})", abs(ours.depth() - ref.get_depth()),
                            0))
        path = ref.cost_complexity_pruning_path(x, y)
        alphas, impurities = pruning_path(ours)
        checks.append(close(f"pruning path alphas ({criterion})", alphas, path.ccp_alphas, 1e-12))
        checks.append(close(f"pruning path impurities ({criterion})", impurities,
                            path.impurities, 1e-12))
        agree = float(np.mean(ours.predict(xt) == ref.predict(xt)))
        checks.append(Check(f"test predictions agreeing with sklearn ({criterion})", agree, 0.95,
                            at_least=True))
    return CheckResult(LAB, tuple(checks))
