"""w4d2 — the training loop: train / validate / test, early stopping, checkpoints, resume.

The scaffold is ``aipath.nn.trainer.Trainer``. This lab trains a small CNN, then trains
it again but "crashes" halfway and resumes from ``last.pt``: the resumed run must end on
exactly the same weights as the uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

from aipath.labs.artefacts import write_report
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.labs.w4.common import make_trainer
from aipath.nn.config import TrainConfig

LAB = "w4d2"


def _config(quick: bool) -> TrainConfig:
    return TrainConfig(epochs=4 if quick else 30, batch_size=32, lr=3e-3, patience=4)


def _max_param_diff(a, b) -> float:
    return max(float((p - q).abs().max().detach()) for p, q in zip(a.parameters(), b.parameters()))


def run(out_dir: Path, quick: bool = False) -> RunResult:
    from aipath.nn.tracking import plot_curves

    trainer = make_trainer(_config(quick), out_dir / "run")
    history = trainer.fit()
    test = trainer.test()
    curves = plot_curves(history, out_dir / "curves.png", "Trainer: train / validation curves")
    best = trainer.stopper
    stopped = "early stopping" if len(history) < trainer.config.epochs else "the epoch limit"
    report = write_report(
        out_dir / "report.md", "w4d2 · training scaffold / 训练脚手架",
        "每个 epoch：训练（model.train()）→ 验证（model.eval() + no_grad）→ 记录 → 保存 last.pt；"
        "验证损失创新低时保存 best.pt；连续 patience 个 epoch 没有改进就早停；最后加载 best.pt 在测试集上评估一次。",
        f"- epochs run: {len(history)} (stopped by {stopped})\n"
        f"- best epoch: {best.best_epoch}, best val loss {best.best:.4f}\n"
        f"- test (best checkpoint): loss {test['loss']:.4f}, accuracy {test['acc']:.3f}\n"
        f"- checkpoints: `run/best.pt`, `run/last.pt`; TensorBoard: `run/tb`")
    return RunResult(LAB, f"{len(history)} epochs ({stopped}); test accuracy {test['acc']:.3f} "
                     "from best.pt.", (curves, out_dir / "run" / "best.pt", report))


def check(quick: bool = False) -> CheckResult:
    import tempfile

    import torch

    cfg = TrainConfig(epochs=4, batch_size=64, lr=3e-3, patience=10)
    with tempfile.TemporaryDirectory() as tmp:
        full = make_trainer(cfg, Path(tmp) / "full")
        full.fit()
        make_trainer(cfg, Path(tmp) / "resumed").fit(stop_after=2)
        resumed = make_trainer(cfg, Path(tmp) / "resumed")
        torch.manual_seed(999)  # must be overridden by the checkpoint's RNG state
        resumed.fit(resume=True)
        diff = _max_param_diff(full.model, resumed.model)
        best_val = min(h["val_loss"] for h in full.history)
        reloaded = make_trainer(cfg, Path(tmp) / "full")
        reloaded.test_data = reloaded.val_data
        val_of_best = reloaded.test()["loss"]
    stopper = make_trainer(TrainConfig(epochs=60, batch_size=64, lr=3e-2, patience=2), None)
    history = stopper.fit()
    return CheckResult(LAB, (
        Check("max |param| difference, resumed vs uninterrupted", diff, 0.0),
        Check("|val loss of best.pt - best logged val loss|", abs(val_of_best - best_val), 1e-6),
        Check("|epochs after the best one - patience| (inf if it never stopped early)",
              abs(len(history) - 1 - stopper.stopper.best_epoch - 2) if len(history) < 60
              else float("inf"), 0),
    ))
