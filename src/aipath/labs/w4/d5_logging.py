"""w4d5 — visualisation and logging: TensorBoard event files and Matplotlib curves.

The Trainer writes every epoch's metrics to ``tb/`` (open with
``tensorboard --logdir aipath-out/w4d5/run/tb``) and to ``history.json``. This lab reads
the event files back with TensorBoard's own reader and draws them with Matplotlib, so the
picture provably shows what TensorBoard would.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aipath.labs.artefacts import figure, label, write_report
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.labs.w4.common import make_trainer
from aipath.nn.config import TrainConfig

LAB = "w4d5"


@lru_cache(maxsize=4)
def _train(out_dir: Path, epochs: int) -> tuple[dict, ...]:
    cfg = TrainConfig(epochs=epochs, batch_size=32, lr=3e-3, schedule="cosine", patience=epochs)
    return tuple(make_trainer(cfg, out_dir).fit())


def run(out_dir: Path, quick: bool = False) -> RunResult:
    from aipath.nn.tracking import read_event_scalars

    run_dir = out_dir / "run"
    _train(run_dir, 4 if quick else 15)
    scalars = read_event_scalars(run_dir / "tb")
    png = out_dir / "tensorboard_scalars.png"
    with figure(png, "Scalars read back from the TensorBoard event files", ncols=3) as axes:
        for ax, metric in zip(axes, ("loss", "acc")):
            for split in ("train", "val"):
                steps, values = zip(*scalars[f"{split}/{metric}"])
                ax.plot(steps, values, "o-", ms=3, label=split)
            label(ax, metric, "epoch", metric)
        steps, values = zip(*scalars["lr"])
        axes[2].plot(steps, values, "o-", ms=3, label="cosine schedule")
        label(axes[2], "learning rate", "epoch", "lr")
    report = write_report(
        out_dir / "report.md", "w4d5 · TensorBoard + Matplotlib / 可视化与日志",
        f"Tags in the event file: {', '.join(sorted(scalars))}.",
        f"Open them live / 实时查看: `tensorboard --logdir {run_dir / 'tb'}`.\n\n"
        "TensorBoard 适合训练过程中实时看多次实验对比；Matplotlib 适合生成报告里的静态图。"
        "两者记录同一份数据：SummaryWriter.add_scalar(tag, value, step)。")
    return RunResult(LAB, f"{len(scalars)} scalar tags logged per epoch; event files in "
                     f"{run_dir / 'tb'}.", (png, report, run_dir / "history.json"))


def check(quick: bool = False) -> CheckResult:
    import tempfile

    from aipath.nn.tracking import read_event_scalars

    with tempfile.TemporaryDirectory() as tmp:
        history = _train(Path(tmp) / "run", 3)
        scalars = read_event_scalars(Path(tmp) / "run" / "tb")
    worst = 0.0
    for key in ("train_loss", "val_loss", "val_acc", "lr"):
        tag = key.replace("_", "/", 1)
        logged = [v for _, v in scalars[tag]]
        worst = max(worst, max(abs(a - h[key]) / max(abs(h[key]), 1e-12)
                               for a, h in zip(logged, history)))
    return CheckResult(LAB, (
        Check("epochs in the event file", len(scalars["val/loss"]), len(history), at_least=True),
        Check("max relative |event value - history| (float32 storage)", worst, 1e-6),
    ))
