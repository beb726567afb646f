"""w3d5 — CNN basics: kernels, stride, padding, pooling; a small CNN on real digits.

Data: scikit-learn's 1797 digits (8x8). Output size of a convolution is
``floor((n + 2p - k) / s) + 1``: 3x3 with padding 1 keeps 8x8, 2x2 pooling halves it.
The report shows the learned first-layer kernels and the feature maps for one digit.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


from aipath.labs.artefacts import figure, write_report
from aipath.labs.datasets import digits_images
from aipath.labs.result import Check, CheckResult, RunResult

LAB = "w3d5"


@lru_cache(maxsize=2)  # run() and check() share one training
def train_cnn(quick: bool):
    import torch

    from aipath.nn.config import TrainConfig
    from aipath.nn.data import ArrayDataset
    from aipath.nn.models import SmallCNN
    from aipath.nn.data import DataLoader
    from aipath.nn.trainer import Trainer, evaluate

    x, y = digits_images()
    torch.manual_seed(0)
    model = SmallCNN(size=8, width=8 if quick else 16)
    trainer = Trainer(model, TrainConfig(epochs=4 if quick else 15, batch_size=32, lr=3e-3),
                      ArrayDataset(x[:1200], y[:1200]), ArrayDataset(x[1200:1500], y[1200:1500]))
    history = trainer.fit()
    test = evaluate(model, DataLoader(ArrayDataset(x[1500:], y[1500:]), 256))
    return model, history, test, x[1500:]


def run(out_dir: Path, quick: bool = False) -> RunResult:
    import torch

    from aipath.nn.tracking import plot_curves

    model, history, test, x_test = train_cnn(quick)
    curves = plot_curves(history, out_dir / "curves.png", "Small CNN on 8x8 digits")
    kernels = model.features[0].weight.detach()[:, 0].numpy()
    with torch.no_grad():
        maps = model.features[:2](torch.from_numpy(x_test[:1]))[0].numpy()
    limit = float(abs(kernels).max())
    png = out_dir / "kernels_and_maps.png"
    n = min(8, len(kernels))
    with figure(png, "First-layer 3x3 kernels (top) and their ReLU feature maps (bottom)",
                ncols=n + 1, nrows=2, size=(2 * (n + 1), 4.4)) as axes:
        axes[0].imshow(x_test[0, 0], cmap="gray")
        axes[0].set_title("input", fontsize=8)
        axes[n + 1].axis("off")
        for i in range(n):
            axes[1 + i].imshow(kernels[i], cmap="bwr", vmin=-limit, vmax=limit)  # white = 0
            axes[1 + i].set_title(f"kernel {i}", fontsize=8)
            axes[n + 2 + i].imshow(maps[i], cmap="viridis")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
    report = write_report(
        out_dir / "report.md", "w3d5 · a small CNN / 小 CNN",
        "conv(3×3, pad 1) → ReLU → maxpool(2) → conv → ReLU → maxpool → linear。"
        "卷积核在整张图上共享权重（平移等变），池化降低分辨率并带来少量平移不变性。",
        f"- parameters: {sum(p.numel() for p in model.parameters()):,}\n"
        f"- epochs: {len(history)}, final val acc {history[-1]['val_acc']:.3f}\n"
        f"- test accuracy (297 unseen digits): {test['acc']:.3f}")
    return RunResult(LAB, f"test accuracy {test['acc']:.3f} after {len(history)} epochs.",
                     (curves, png, report))


def check(quick: bool = False) -> CheckResult:
    import torch

    from aipath.nn.layers import conv_output_size

    _, _, test, _ = train_cnn(quick)
    shape_errors = 0
    for size, k, s, p in [(8, 3, 1, 1), (28, 5, 2, 0), (28, 3, 2, 1), (17, 4, 3, 2)]:
        out = torch.nn.Conv2d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, size, size))
        shape_errors += out.shape[-1] != conv_output_size(size, k, s, p)
    return CheckResult(LAB, (
        Check("conv output sizes differing from torch", shape_errors, 0),
        Check("test accuracy on unseen digits", test["acc"], 0.85 if quick else 0.95,
              at_least=True),
    ))
