"""w3d4 — regularisation: L2 (weight decay), dropout and batch norm vs an overfitting baseline.

A wide MLP trained on only a few hundred digits memorises them: training loss goes to
zero while validation loss turns back up. Each regulariser is added on its own and the
train/validation gap is compared. The check holds our dropout and batch norm to torch's.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.datasets import digits_images
from aipath.labs.result import Check, CheckResult, RunResult, close

LAB = "w3d4"
VARIANTS = {"baseline": {}, "L2 (λ = 1e-2)": {"weight_decay": 1e-2},
            "dropout 0.3": {"dropout": 0.3}, "batch norm": {"batch_norm": True}}


@lru_cache(maxsize=8)
def _train(name: str, epochs: int, n_train: int) -> list[dict[str, float]]:
    import torch

    from aipath.nn.config import TrainConfig
    from aipath.nn.data import ArrayDataset
    from aipath.nn.models import MLP
    from aipath.nn.trainer import Trainer

    variant = VARIANTS[name]
    x, y = digits_images()
    train = ArrayDataset(x[:n_train].reshape(n_train, -1), y[:n_train])
    val = ArrayDataset(x[1000:1400].reshape(400, -1), y[1000:1400])
    torch.manual_seed(0)
    model = MLP(64, 256, 10, dropout=variant.get("dropout", 0.0),
                batch_norm=variant.get("batch_norm", False))
    cfg = TrainConfig(epochs=epochs, batch_size=16, lr=1e-3, optimizer="adam",
                      weight_decay=variant.get("weight_decay", 0.0), patience=epochs)
    return Trainer(model, cfg, train, val).fit()


def run(out_dir: Path, quick: bool = False) -> RunResult:
    epochs, n_train = (12, 100) if quick else (60, 100)
    histories = {name: _train(name, epochs, n_train) for name in VARIANTS}
    png = out_dir / "regularisation.png"
    with figure(png, f"Overfitting on {n_train} digits, and what fights it", ncols=2) as axes:
        for name, h in histories.items():
            line, = axes[0].plot([e["val_loss"] for e in h], label=f"{name} (val)")
            axes[0].plot([e["train_loss"] for e in h], ls=":", color=line.get_color())
            axes[1].plot([e["val_acc"] for e in h], color=line.get_color(), label=name)
        label(axes[0], "loss: solid = validation, dotted = train", "epoch", "cross-entropy")
        axes[0].set_yscale("log")
        label(axes[1], "validation accuracy", "epoch", "accuracy")
    rows = []
    for name, h in histories.items():
        last = h[-1]
        rows.append([name, last["train_loss"], last["val_loss"],
                     last["val_loss"] - last["train_loss"], max(e["val_acc"] for e in h)])
    report = write_report(
        out_dir / "report.md", "w3d4 · regularisation / 正则化",
        table(["variant", "train loss", "val loss", "gap", "best val acc"], rows),
        "为什么有效：L2 让权重变小、函数更平滑；Dropout 随机丢弃神经元，相当于训练很多子网络的集成，"
        "防止神经元共适应；BatchNorm 稳定每层输入分布，允许更大学习率，小批量统计带来的噪声也有轻微正则效果。"
        " / L2 keeps weights small; dropout trains an implicit ensemble; batch norm stabilises "
        "activations and its batch noise regularises a little.",
        "单次小实验里并非每种方法都一定胜出，下面的结论完全由本次数字生成。 / Not every method wins "
        "in one small run; the lines below are generated from this run's numbers.",
        "What this run shows / 本次结果:\n\n" + "\n".join(_compare(rows)))
    best = min(rows, key=lambda r: r[2])
    return RunResult(LAB, f"final val loss: baseline {rows[0][2]:.3f}, lowest {best[0]} "
                     f"({best[2]:.3f}).", (png, report))


def _compare(rows: list[list]) -> list[str]:
    """One line per regulariser, stating how it moved the numbers against the baseline."""
    base = rows[0]
    lines = []
    for name, train, val, gap, acc in rows[1:]:
        verdict = "lower (better)" if val < base[2] else "higher (worse)"
        lines.append(f"- {name}: final val loss {val:.3f} vs baseline {base[2]:.3f}, {verdict}; "
                     f"train loss {train:.4f} vs {base[1]:.4f}; gap {gap:.3f} vs {base[3]:.3f}; "
                     f"best val acc {acc:.3f} vs {base[4]:.3f}.")
    return lines


def check(quick: bool = False) -> CheckResult:
    import torch

    from aipath.nn.layers import BatchNorm1d, Dropout

    torch.manual_seed(0)
    ours, ref = BatchNorm1d(8).double(), torch.nn.BatchNorm1d(8).double()
    x = torch.randn(32, 8, dtype=torch.float64) * 2 + 3
    train_diff = (ours(x) - ref(x)).abs().max().item()
    ours.eval()
    ref.eval()
    eval_diff = (ours(x) - ref(x)).abs().max().item()
    drop = Dropout(0.5)
    y = drop(torch.ones(100_000))
    kept = y[y != 0]
    drop.eval()
    return CheckResult(LAB, (
        Check("batch norm (train) max |ours - torch|", train_diff, 1e-12),
        Check("batch norm (eval, running stats) max |ours - torch|", eval_diff, 1e-12),
        close("dropout kept values scaled by 1/(1-p)", kept.numpy(), np.full(len(kept), 2.0), 0),
        Check("dropout: |kept fraction - 0.5| in standard errors",
              abs(len(kept) / 100_000 - 0.5) / np.sqrt(0.25 / 100_000), 4.0),
        Check("dropout in eval mode changes nothing",
              float((drop(torch.ones(10)) != 1).sum()), 0),
    ))
