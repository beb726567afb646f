"""w4d4 — deployment basics: save as ``.pt`` and ``.onnx``, and the two inference rules.

Exports a trained CNN to ``model.pt`` (state dict) and ``model.onnx`` and runs the ONNX
file in onnxruntime: the logits must match PyTorch's. Then shows what goes wrong without
``model.eval()`` (dropout stays on, outputs change between calls) and what
``torch.no_grad()`` saves (no autograd graph is kept).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import copy_note, write_report
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.labs.w4.common import make_trainer, splits
from aipath.nn.config import TrainConfig

LAB = "w4d4"
NOTE = "w4d4-deployment.zh-CN.md"


@lru_cache(maxsize=2)
def trained(quick: bool):
    trainer = make_trainer(TrainConfig(epochs=2 if quick else 8, batch_size=32, lr=3e-3), None)
    trainer.fit()
    return trainer.model.eval()


def _dropout_model():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(64, 10))


def export_all(out_dir: Path, quick: bool) -> dict[str, float]:
    import torch

    from aipath.nn.export import export_onnx, load_weights, onnx_predict, save_weights, torch_predict
    from aipath.nn.models import SmallCNN

    model = trained(quick)
    _, _, test = splits()
    x = test.x
    pt = save_weights(model, out_dir / "model.pt")
    onnx = export_onnx(model, torch.zeros(1, 1, 8, 8), out_dir / "model.onnx")
    reloaded = load_weights(SmallCNN(8, width=8), pt)
    ref = torch_predict(model, x)
    drop = _dropout_model()
    xt = torch.from_numpy(x[:16])
    with torch.no_grad():
        drop.train()
        train_diff = float((drop(xt) - drop(xt)).abs().max())
        drop.eval()
        eval_diff = float((drop(xt) - drop(xt)).abs().max())
        no_grad_out = model(xt)
    return {"onnx_max_diff": float(np.abs(onnx_predict(onnx, x) - ref).max()),
            "pt_max_diff": float(np.abs(torch_predict(reloaded, x) - ref).max()),
            "onnx_agreement": float(np.mean(onnx_predict(onnx, x).argmax(1) == ref.argmax(1))),
            "train_mode_diff": train_diff, "eval_mode_diff": eval_diff,
            "no_grad_has_graph": float(no_grad_out.requires_grad),
            "grad_has_graph": float(model(xt).requires_grad),
            "onnx_kb": onnx.stat().st_size / 1024, "pt_kb": pt.stat().st_size / 1024}


def run(out_dir: Path, quick: bool = False) -> RunResult:
    r = export_all(out_dir, quick)
    note = copy_note(NOTE, out_dir)
    report = write_report(
        out_dir / "report.md", "w4d4 · export and inference rules / 模型部署基础",
        f"- model.pt ({r['pt_kb']:.0f} KiB): reloaded logits differ by {r['pt_max_diff']:.1e}\n"
        f"- model.onnx ({r['onnx_kb']:.0f} KiB): onnxruntime vs PyTorch max |Δlogit| = "
        f"{r['onnx_max_diff']:.1e}, same class on {r['onnx_agreement']:.1%} of the test digits\n"
        f"- dropout model left in train mode: two calls on the same input differ by "
        f"{r['train_mode_diff']:.3f}; in eval mode by {r['eval_mode_diff']:.1f}\n"
        f"- output requires grad: with no_grad {bool(r['no_grad_has_graph'])}, without "
        f"{bool(r['grad_has_graph'])} (a graph is being kept)",
        f"Notes / 笔记: `{NOTE}`.")
    return RunResult(LAB, f"ONNX parity {r['onnx_max_diff']:.1e}; files model.pt, model.onnx.",
                     tuple(p for p in (out_dir / "model.pt", out_dir / "model.onnx", report, note)
                           if p))


def check(quick: bool = False) -> CheckResult:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        r = export_all(Path(tmp), quick)
    return CheckResult(LAB, (
        Check("onnxruntime vs PyTorch max |Δlogit|", r["onnx_max_diff"], 1e-4),
        Check("reloaded .pt vs original max |Δlogit|", r["pt_max_diff"], 0.0),
        Check("same predicted class, onnxruntime vs PyTorch", r["onnx_agreement"], 1.0,
              at_least=True),
        Check("eval mode: two calls differ by", r["eval_mode_diff"], 0.0),
        Check("train mode: two calls differ by (dropout active)", r["train_mode_diff"], 1e-3,
              at_least=True),
        Check("no_grad output keeps a graph (1 = yes)", r["no_grad_has_graph"], 0.0),
    ))
