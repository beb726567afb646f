"""w3d1 — neural-network basics: activation functions and loss functions.

Plots ReLU, sigmoid, tanh and GELU with their derivatives (where sigmoid and tanh
saturate, gradients vanish), and the common losses as a function of the prediction.
Every curve comes from ``aipath.nn.functional`` and is checked against torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, write_report
from aipath.labs.result import CheckResult, RunResult, close
from aipath.nn import functional as f

LAB = "w3d1"
ACTIVATIONS = {"relu": (f.relu, f.relu_grad), "sigmoid": (f.sigmoid, f.sigmoid_grad),
               "tanh": (f.tanh, f.tanh_grad)}


def run(out_dir: Path, quick: bool = False) -> RunResult:
    x = np.linspace(-5, 5, 501)
    act_png = out_dir / "activations.png"
    with figure(act_png, "Activations and their derivatives", ncols=2) as axes:
        for name, (fn, grad) in ACTIVATIONS.items():
            line, = axes[0].plot(x, fn(x), label=name)
            axes[1].plot(x, grad(x), color=line.get_color(), label=f"{name}'")
        axes[0].plot(x, f.gelu(x), label="gelu")
        label(axes[0], "f(x)", "x", "activation")
        label(axes[1], "f'(x): sigmoid' ≤ 0.25, saturating tails → vanishing gradients", "x",
              "derivative")
    loss_png = out_dir / "losses.png"
    with figure(loss_png, "Loss functions", ncols=2) as axes:
        r = np.linspace(-3, 3, 301)
        axes[0].plot(r, r**2, label="MSE (r²)")
        axes[0].plot(r, [f.huber(np.array([v]), np.array([0.0])) for v in r], label="Huber (δ=1)")
        axes[0].plot(r, np.abs(r), label="L1 |r|")
        label(axes[0], "regression: loss vs residual r", "residual r = prediction − target",
              "loss")
        z = np.linspace(-6, 6, 301)
        for y in (0, 1):
            axes[1].plot(z, [f.binary_cross_entropy_with_logits(np.array([v]), np.array([y]))
                             for v in z], label=f"BCE, target {y}")
        axes[1].plot(z, np.maximum(0, 1 - z), "--", label="hinge, target 1")
        label(axes[1], "classification: loss vs logit", "logit z", "loss")
    report = write_report(
        out_dir / "report.md", "w3d1 · activations and losses / 激活函数与损失函数",
        "- ReLU：正半轴导数恒为 1，不饱和，计算便宜；负半轴为 0（可能“死亡”）。\n"
        "- Sigmoid：输出 (0,1)，导数最大 0.25，两端饱和 → 深层网络梯度消失；适合输出概率。\n"
        "- Tanh：零中心，导数最大 1，仍会饱和；RNN 中常用。\n"
        "- 损失：回归用 MSE（对离群点敏感）或 Huber；分类用交叉熵（概率越错惩罚越重）。\n"
        "ReLU does not saturate for x>0; sigmoid/tanh saturate; cross-entropy punishes confident "
        "mistakes hardest.")
    return RunResult(LAB, "activations + derivatives and regression/classification losses "
                     "plotted.", (act_png, loss_png, report))


def check(quick: bool = False) -> CheckResult:
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.normal(0, 4, 200)
    checks = []
    for name, (fn, grad) in ACTIVATIONS.items():
        t = torch.tensor(x, requires_grad=True)
        getattr(torch, name)(t).sum().backward()
        checks.append(close(f"{name} vs torch", fn(x), getattr(torch, name)(t).detach().numpy(),
                            1e-12))
        checks.append(close(f"{name}' vs torch.autograd", grad(x), t.grad.numpy(), 1e-12))
    checks.append(close("gelu vs torch", f.gelu(x), F.gelu(torch.tensor(x)).numpy(), 1e-12))
    logits, target = rng.normal(0, 2, (16, 5)), rng.integers(0, 5, 16)
    checks.append(close("cross-entropy vs torch", f.cross_entropy(logits, target),
                        F.cross_entropy(torch.tensor(logits), torch.tensor(target)).item(), 1e-12))
    return CheckResult(LAB, tuple(checks))
