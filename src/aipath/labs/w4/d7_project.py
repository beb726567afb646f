"""w4d7 — mini project: one end-to-end training run with checkpoints and logs.

YAML config → augmented Dataset/DataLoader → Trainer (early stopping, ``best.pt`` /
``last.pt``, TensorBoard, curves) → test on the best checkpoint → export to ONNX with an
onnxruntime parity check → a Markdown report. Everything from weeks 3–4 in one place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import table, write_report
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.labs.w4.common import make_trainer
from aipath.nn.config import TrainConfig, load_config, save_config

LAB = "w4d7"


def pipeline(out_dir: Path, quick: bool) -> dict:
    import torch

    from aipath.nn.export import export_onnx, onnx_predict, torch_predict
    from aipath.nn.tracking import plot_curves

    config_path = save_config(TrainConfig(epochs=30, batch_size=32, lr=3e-3, schedule="cosine",
                                          patience=5), out_dir / "config.yaml")
    config = load_config(config_path, ["epochs=3"] if quick else [])
    trainer = make_trainer(config, out_dir / "run", augment=True, width=16)
    history = trainer.fit()
    test = trainer.test()
    onnx = export_onnx(trainer.model, torch.zeros(1, 1, 8, 8), out_dir / "model.onnx")
    x = trainer.test_data.x
    parity = float(np.abs(onnx_predict(onnx, x) - torch_predict(trainer.model, x)).max())
    curves = plot_curves(history, out_dir / "curves.png", "End-to-end run: digits CNN")
    return {"history": history, "test": test, "parity": parity, "curves": curves, "onnx": onnx,
            "config": config_path, "best_epoch": trainer.stopper.best_epoch}


def run(out_dir: Path, quick: bool = False) -> RunResult:
    r = pipeline(out_dir, quick)
    h = r["history"]
    report = write_report(
        out_dir / "report.md", "w4d7 · end-to-end training run / 端到端训练小项目",
        table(["item", "value"], [
            ["epochs run", len(h)], ["best epoch", r["best_epoch"]],
            ["best val acc", max(e["val_acc"] for e in h)], ["test loss", r["test"]["loss"]],
            ["test accuracy", r["test"]["acc"]], ["ONNX parity max |Δ|", r["parity"]]]),
        "Files / 文件: `config.yaml`, `run/best.pt`, `run/last.pt`, `run/tb/` (TensorBoard), "
        "`run/history.json`, `curves.png`, `model.onnx`.",
        "Resume an interrupted run with `Trainer.fit(resume=True)`; see `aipath lab w4d2 --check`.")
    return RunResult(LAB, f"test accuracy {r['test']['acc']:.3f}, ONNX parity {r['parity']:.1e}.",
                     (r["config"], r["curves"], r["onnx"], out_dir / "run" / "best.pt", report))


def check(quick: bool = False) -> CheckResult:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        r = pipeline(Path(tmp), quick)
        files = sum((Path(tmp) / f).exists() for f in ("run/best.pt", "run/last.pt",
                                                       "run/history.json", "model.onnx"))
        events = len(list((Path(tmp) / "run" / "tb").glob("events.out.tfevents.*")))
    return CheckResult(LAB, (
        Check("test accuracy (best checkpoint)", r["test"]["acc"], 0.7 if quick else 0.95,
              at_least=True),
        Check("ONNX vs PyTorch max |Δlogit|", r["parity"], 1e-4),
        Check("checkpoint/log/export files present (of 4)", files, 4, at_least=True),
        Check("TensorBoard event files", events, 1, at_least=True),
    ))
