"""w3d2 — backpropagation: the chain rule by hand, by our autograd engine, and by torch.

One neuron ``y = sigmoid(w1 x1 + w2 x2 + b)`` with loss ``L = (y - t)^2``. By hand:
``dL/dy = 2 (y - t)``, ``dy/dz = y (1 - y)``, ``dz/dw_i = x_i``, so
``dL/dw_i = 2 (y - t) y (1 - y) x_i``. The engine must produce the same numbers, and a
small MLP built on it learns two moons.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.result import CheckResult, RunResult, close
from aipath.nn.engine import Value
from aipath.nn.mlp import MLP

LAB = "w3d2"
X1, X2, W1, W2, B, T = 0.5, -1.5, 0.8, 0.3, 0.1, 1.0


def by_hand() -> dict[str, float]:
    z = W1 * X1 + W2 * X2 + B
    y = 1 / (1 + math.exp(-z))
    dl_dz = 2 * (y - T) * y * (1 - y)
    return {"L": (y - T) ** 2, "dL/dw1": dl_dz * X1, "dL/dw2": dl_dz * X2, "dL/db": dl_dz}


def by_engine() -> dict[str, float]:
    w1, w2, b = Value(W1), Value(W2), Value(B)
    loss = ((w1 * X1 + w2 * X2 + b).sigmoid() - T) ** 2
    loss.backward()
    return {"L": loss.data, "dL/dw1": w1.grad, "dL/dw2": w2.grad, "dL/db": b.grad}


def by_torch() -> dict[str, float]:
    import torch

    w = torch.tensor([W1, W2], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(B, dtype=torch.float64, requires_grad=True)
    loss = (torch.sigmoid(w @ torch.tensor([X1, X2], dtype=torch.float64) + b) - T) ** 2
    loss.backward()
    return {"L": loss.item(), "dL/dw1": w.grad[0].item(), "dL/dw2": w.grad[1].item(),
            "dL/db": b.grad.item()}


def _train_mlp(n: int, epochs: int, batch: int = 8) -> tuple[MLP, list[float], np.ndarray,
                                                               np.ndarray]:
    """Mini-batch SGD on a hinge loss, micrograd style: many small updates per epoch."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.1, random_state=0)
    target = 2.0 * y - 1  # ±1 targets for a hinge loss
    model, losses = MLP(2, [16, 16, 1], act="relu", seed=1), []
    rng = np.random.default_rng(0)
    steps, total_steps = 0, epochs * -(-n // batch)
    for _ in range(epochs):
        epoch_loss = 0.0
        for idx in np.array_split(rng.permutation(n), -(-n // batch)):
            scores = [model(list(x[i]))[0] for i in idx]
            loss = sum(((1 - target[i] * s).relu() for i, s in zip(idx, scores)), Value(0.0))
            params = model.parameters()
            loss = loss / len(idx) + 1e-4 * sum((p * p for p in params), Value(0.0))
            loss.backward()
            lr = 1.0 - 0.9 * steps / total_steps
            for p in params:
                p.data -= lr * p.grad
            steps += 1
            epoch_loss += loss.data * len(idx) / n
        losses.append(epoch_loss)
    return model, losses, x, y


def run(out_dir: Path, quick: bool = False) -> RunResult:
    random.seed(0)
    model, losses, x, y = _train_mlp(30 if quick else 50, 10 if quick else 20)
    side = 16 if quick else 24
    gx, gy = np.meshgrid(np.linspace(-1.5, 2.5, side), np.linspace(-1, 1.5, side))
    z = np.array([model(list(p))[0].data for p in np.c_[gx.ravel(), gy.ravel()]])
    acc = float(np.mean([(model(list(r))[0].data > 0) == bool(t) for r, t in zip(x, y)]))
    png = out_dir / "micrograd_moons.png"
    with figure(png, "An MLP trained with our scalar autograd engine", ncols=2) as axes:
        axes[0].plot(losses, label="mean hinge loss + L2 per epoch")
        label(axes[0], "training loss", "epoch", "loss")
        axes[1].contourf(gx, gy, z.reshape(gx.shape) > 0, alpha=0.3, cmap="coolwarm")
        axes[1].scatter(*x.T, c=y, cmap="coolwarm", s=12, label="points")
        label(axes[1], f"decision boundary, train acc {acc:.2f}", "x1", "x2")
    hand, engine, ref = by_hand(), by_engine(), by_torch()
    report = write_report(
        out_dir / "report.md", "w3d2 · backpropagation by hand / 反向传播",
        f"x = ({X1}, {X2}), w = ({W1}, {W2}), b = {B}, t = {T}; y = σ(w·x + b), L = (y − t)².",
        "链式法则：dL/dw = dL/dy · dy/dz · dz/dw = 2(y − t) · y(1 − y) · x。",
        table(["quantity", "by hand", "aipath engine", "torch.autograd"],
              [[k, hand[k], engine[k], ref[k]] for k in hand]),
        "Computation graph / 计算图:\n\n```mermaid\ngraph LR\n  w1 --> m1[×x1] --> s[+]\n"
        "  w2 --> m2[×x2] --> s\n  b --> s --> sig[σ] --> d[− t] --> sq[²] --> L\n```")
    return RunResult(LAB, f"hand, engine and torch gradients agree; micrograd MLP reaches train "
                     f"acc {acc:.2f} on moons.", (png, report))


def check(quick: bool = False) -> CheckResult:
    hand, engine, ref = by_hand(), by_engine(), by_torch()
    keys = list(hand)
    return CheckResult(LAB, (
        close("by hand vs torch.autograd", [hand[k] for k in keys], [ref[k] for k in keys], 1e-12),
        close("aipath engine vs torch.autograd", [engine[k] for k in keys],
              [ref[k] for k in keys], 1e-12),
    ))
