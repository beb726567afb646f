"""w3d6 — RNN/LSTM: sequence modelling and vanishing gradients, compared with a Transformer.

Task: the label is the *first* token of a sequence; the rest is noise. To answer, a
recurrent model must carry one token through every step, while self-attention can look
back at position 0 directly. Before training we measure how much gradient reaches each
input position — for a vanilla RNN it shrinks geometrically with distance.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from aipath.labs.artefacts import copy_note, figure, label, table, write_report
from aipath.labs.result import Check, CheckResult, RunResult

LAB = "w3d6"
NOTE = "w3d6-rnn-vs-transformer.zh-CN.md"
CLASSES, VOCAB = 4, 12


def make_sequences(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First token = label in 0..3; the other tokens are noise from 4..11."""
    rng = np.random.default_rng(seed)
    x = rng.integers(CLASSES, VOCAB, (n, length))
    y = rng.integers(0, CLASSES, n)
    x[:, 0] = y
    return x, y


def _models(length: int) -> dict:
    import torch

    from aipath.nn.models import RecurrentClassifier, TransformerClassifier

    torch.manual_seed(0)
    return {"RNN": RecurrentClassifier(VOCAB, CLASSES, 32, "rnn"),
            "LSTM": RecurrentClassifier(VOCAB, CLASSES, 32, "lstm"),
            "Transformer": TransformerClassifier(VOCAB, CLASSES, length, 32, 4, 2)}


def gradient_by_position(model, length: int) -> np.ndarray:
    """Mean |dL/d(embedding at t)| for an untrained recurrent model."""
    import torch
    import torch.nn.functional as F

    x, y = make_sequences(256, length, seed=9)
    emb = model.embed(torch.from_numpy(x)).detach().requires_grad_()
    out, _ = model.rnn(emb)
    F.cross_entropy(model.head(out[:, -1]), torch.from_numpy(y)).backward()
    return emb.grad.norm(dim=-1).mean(0).numpy()


@lru_cache(maxsize=2)  # run() and check() share one training
def _train_all(length: int, epochs: int) -> dict[str, list[dict[str, float]]]:
    from aipath.nn.config import TrainConfig
    from aipath.nn.data import ArrayDataset
    from aipath.nn.trainer import Trainer

    train, val = make_sequences(1500, length, 0), make_sequences(400, length, 1)
    cfg = TrainConfig(epochs=epochs, batch_size=64, lr=3e-3, patience=epochs)
    return {name: Trainer(m, cfg, ArrayDataset(*train), ArrayDataset(*val)).fit()
            for name, m in _models(length).items()}


def run(out_dir: Path, quick: bool = False) -> RunResult:
    length, epochs = (16, 5) if quick else (40, 12)
    models = _models(length)
    grads = {n: gradient_by_position(models[n], length) for n in ("RNN", "LSTM")}
    grad_png = out_dir / "vanishing_gradients.png"
    with figure(grad_png, "Gradient reaching each input position (untrained)") as ax:
        for name, g in grads.items():
            ax.semilogy(np.arange(length), g, "o-", ms=3, label=name)
        label(ax, "loss is computed at the last step", "input position t",
              "mean ‖dL/d embedding_t‖")
    histories = _train_all(length, epochs)
    acc_png = out_dir / "accuracy.png"
    with figure(acc_png, f"Remember the first of {length} tokens") as ax:
        for name, h in histories.items():
            ax.plot([e["val_acc"] for e in h], "o-", label=name)
        ax.axhline(1 / CLASSES, color="k", ls="--", label="chance")
        label(ax, "validation accuracy per epoch", "epoch", "accuracy")
    rows = [[n, h[-1]["val_acc"], float(grads[n][0] / grads[n][-1]) if n in grads else "-"]
            for n, h in histories.items()]
    note = copy_note(NOTE, out_dir)
    report = write_report(out_dir / "report.md", "w3d6 · RNN vs LSTM vs Transformer",
                          table(["model", "final val acc", "grad(t=0) / grad(t=last)"], rows),
                          f"Written comparison / 对比说明: `{NOTE}`.")
    return RunResult(LAB, "; ".join(f"{r[0]} {r[1]:.2f}" for r in rows),
                     tuple(p for p in (grad_png, acc_png, report, note) if p))


def check(quick: bool = False) -> CheckResult:
    length = 16 if quick else 40
    models = _models(length)
    rnn, lstm = (gradient_by_position(models[n], length) for n in ("RNN", "LSTM"))
    histories = _train_all(length, 5 if quick else 12)
    return CheckResult(LAB, (
        Check("RNN gradient ratio first/last position (vanishing)", rnn[0] / rnn[-1], 1e-2),
        Check("LSTM ratio / RNN ratio (LSTM keeps more gradient)",
              (lstm[0] / lstm[-1]) / (rnn[0] / rnn[-1]), 1.0, at_least=True),
        Check("Transformer validation accuracy", histories["Transformer"][-1]["val_acc"], 0.9,
              at_least=True),
    ))
