"""w4d3 — hyper-parameter tuning: three settings, one table.

Three points chosen to show the two classic effects: the learning rate (1e-3 vs 1e-2 at
batch 32) and the batch size (32 vs 256 at lr 1e-2: bigger batches mean fewer, less
noisy steps per epoch, so in a fixed number of epochs they get less done).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.labs.w4.common import make_trainer
from aipath.nn.config import TrainConfig

LAB = "w4d3"
GRID = ((1e-3, 32), (1e-2, 32), (1e-2, 256))


@lru_cache(maxsize=4)  # run() and check() share the grid
def search(epochs: int) -> tuple[tuple[float, int, tuple[dict, ...]], ...]:
    results = []
    for lr, batch in GRID:
        cfg = TrainConfig(epochs=epochs, batch_size=batch, lr=lr, patience=epochs)
        results.append((lr, batch, tuple(make_trainer(cfg, None).fit())))
    return tuple(results)


def run(out_dir: Path, quick: bool = False) -> RunResult:
    results = search(4 if quick else 15)
    png = out_dir / "grid_curves.png"
    with figure(png, "Three hyper-parameter settings", ncols=2) as axes:
        for lr, batch, h in results:
            name = f"lr={lr:g}, batch={batch}"
            axes[0].plot([e["val_loss"] for e in h], "o-", ms=3, label=name)
            axes[1].plot([e["val_acc"] for e in h], "o-", ms=3, label=name)
        label(axes[0], "validation loss", "epoch", "cross-entropy")
        label(axes[1], "validation accuracy", "epoch", "accuracy")
    rows = [[lr, batch, 1200 // batch * len(h), min(e["val_loss"] for e in h),
             max(e["val_acc"] for e in h)] for lr, batch, h in results]
    best = max(rows, key=lambda r: r[4])
    report = write_report(
        out_dir / "report.md", "w4d3 · grid search / 超参网格",
        table(["lr", "batch size", "optimizer steps", "best val loss", "best val acc"], rows),
        f"Best: lr={best[0]:g}, batch={best[1]} (val acc {best[4]:.3f}). 学习率太小收敛慢；"
        "batch 越大每个 epoch 的更新步数越少、梯度噪声越小，同样 epoch 数下往往需要更大的学习率。"
        "选择规则：只看验证集，最后在测试集上只评估一次。")
    return RunResult(LAB, f"best of 3: lr={best[0]:g}, batch={best[1]}, val acc {best[4]:.3f}.",
                     (png, report))


def check(quick: bool = False) -> CheckResult:
    epochs = 4 if quick else 15
    results = search(epochs)
    best = max(results, key=lambda r: max(e["val_acc"] for e in r[2]))
    lr, batch, history = best
    again = make_trainer(TrainConfig(epochs=epochs, batch_size=batch, lr=lr, patience=epochs),
                         None).fit()
    return CheckResult(LAB, (
        Check("settings evaluated", len(results), 3, at_least=True),
        Check("rerun of the best setting: max |val loss difference|",
              max(abs(a["val_loss"] - b["val_loss"]) for a, b in zip(history, again)), 0.0),
        Check("best validation accuracy", max(e["val_acc"] for e in history),
              0.8 if quick else 0.95, at_least=True),
    ))
