"""w3d3 — optimisers: SGD, momentum, Adam and learning-rate schedules, written by hand.

A small MLP learns two moons with each optimiser from the same initial weights; the loss
curves show plain SGD crawling, momentum speeding it up and Adam adapting per weight. The
check replays 20 steps against ``torch.optim`` and compares the weights.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, write_report
from aipath.labs.result import CheckResult, RunResult, close
from aipath.nn import schedules

LAB = "w3d3"


def _setup(n: int):
    import torch
    from sklearn.datasets import make_moons

    x, y = make_moons(n, noise=0.15, random_state=0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32),
                                torch.nn.Tanh(), torch.nn.Linear(32, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y), model


def _optimisers():
    from aipath.nn.optim import SGD, Adam

    return {"SGD lr=0.1": lambda p: SGD(p, 0.1),
            "SGD + momentum 0.9": lambda p: SGD(p, 0.1, momentum=0.9),
            "Adam lr=0.01": lambda p: Adam(p, 0.01)}


def _train(make_opt, x, y, model, steps: int, schedule: bool = False) -> list[float]:
    import torch.nn.functional as F

    model = copy.deepcopy(model)
    opt = make_opt(model.parameters())
    sched = schedules.Scheduler(opt, schedules.cosine, total=steps) if schedule else None
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched:
            sched.step()
        losses.append(loss.item())
    return losses


def run(out_dir: Path, quick: bool = False) -> RunResult:
    x, y, model = _setup(200 if quick else 500)
    steps = 150 if quick else 600
    curves = {name: _train(make, x, y, model, steps) for name, make in _optimisers().items()}
    curves["Adam + cosine schedule"] = _train(_optimisers()["Adam lr=0.01"], x, y, model, steps,
                                              schedule=True)
    png = out_dir / "loss_curves.png"
    with figure(png, "SGD vs momentum vs Adam on two moons (full batch)", ncols=2) as axes:
        for name, losses in curves.items():
            axes[0].semilogy(losses, label=name)
        label(axes[0], "same initial weights for all", "step", "cross-entropy (log)")
        t = np.arange(steps)
        axes[1].plot(t, [schedules.cosine(s, 0.01, steps) for s in t], label="cosine")
        axes[1].plot(t, [schedules.warmup_cosine(s, 0.01, steps // 10, steps) for s in t],
                     label="warmup + cosine")
        axes[1].plot(t, [schedules.step_decay(s, 0.01, steps // 3, 0.3) for s in t],
                     label="step decay ×0.3")
        label(axes[1], "learning-rate schedules", "step", "learning rate")
    final = {k: v[-1] for k, v in curves.items()}
    report = write_report(
        out_dir / "report.md", "w3d3 · optimisers / 优化器",
        "\n".join(f"- {k}: final loss {v:.4f}" for k, v in final.items()),
        "SGD 沿梯度走固定步长；Momentum 累积历史梯度，在一致方向上加速、在震荡方向上抵消；"
        "Adam 用梯度一阶/二阶矩为每个参数自适应步长，并做偏差修正。学习率调度在后期减小步长以收敛。")
    return RunResult(LAB, "final losses: " + ", ".join(f"{k} {v:.3f}" for k, v in final.items()),
                     (png, report))


def check(quick: bool = False) -> CheckResult:
    import torch

    x, y, model = _setup(100)
    refs = {"SGD lr=0.1": lambda p: torch.optim.SGD(p, 0.1),
            "SGD + momentum 0.9": lambda p: torch.optim.SGD(p, 0.1, momentum=0.9),
            "Adam lr=0.01": lambda p: torch.optim.Adam(p, 0.01)}
    checks = []
    for name, make in _optimisers().items():
        ours = _train(make, x, y, model, 20)
        theirs = _train(refs[name], x, y, model, 20)
        checks.append(close(f"{name}: 20 losses vs torch.optim", ours, theirs, 1e-5))
    return CheckResult(LAB, tuple(checks))
