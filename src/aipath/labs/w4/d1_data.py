"""w4d1 — data pipelines: a custom Dataset, augmentation, batching.

``ArrayDataset`` holds the images and applies a random transform per sample (shift by up
to one pixel, then a little Gaussian noise), so every epoch sees slightly different
digits. Our ``DataLoader`` is checked against ``torch.utils.data.DataLoader``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, write_report
from aipath.labs.result import Check, CheckResult, RunResult
from aipath.labs.w4.common import splits

LAB = "w4d1"


def run(out_dir: Path, quick: bool = False) -> RunResult:
    from aipath.nn.data import DataLoader

    plain, _, _ = splits()
    augmented, _, _ = splits(augment=True)
    png = out_dir / "augmentation.png"
    with figure(png, "Each row: one training digit, then 5 random augmentations",
                ncols=6, nrows=4, size=(9, 6.4)) as axes:
        for row, i in enumerate([0, 1, 2, 3]):
            axes[6 * row].imshow(plain[i][0][0].numpy(), cmap="gray")
            axes[6 * row].set_title(f"original ({int(plain[i][1])})", fontsize=8)
            for j in range(1, 6):
                axes[6 * row + j].imshow(augmented[i][0][0].numpy(), cmap="gray")
                axes[6 * row + j].set_title(f"augmented {j}", fontsize=8)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
    loader = DataLoader(augmented, batch_size=64, shuffle=True, seed=0)
    xb, yb = next(iter(loader))
    report = write_report(
        out_dir / "report.md", "w4d1 · Dataset / DataLoader / augmentation",
        "Dataset 负责“第 i 个样本是什么”（`__len__`、`__getitem__`，可带随机变换）；DataLoader 负责"
        "打乱、分批、拼接成张量。增强只用于训练集，验证/测试集保持原样。",
        f"- training samples: {len(augmented)}, batches of 64 per epoch: {len(loader)}\n"
        f"- one batch: x {tuple(xb.shape)} {xb.dtype}, y {tuple(yb.shape)} {yb.dtype}\n"
        f"- pixel range after augmentation: [{float(xb.min()):.2f}, {float(xb.max()):.2f}]")
    return RunResult(LAB, f"{len(loader)} shuffled batches per epoch; batch x {tuple(xb.shape)}.",
                     (png, report))


def check(quick: bool = False) -> CheckResult:
    import torch
    from scipy import ndimage
    from torch.utils.data import DataLoader as TorchLoader

    from aipath.nn.data import DataLoader, shift_image

    plain, _, _ = splits()
    ours, ref = list(DataLoader(plain, 100)), list(TorchLoader(plain, 100))
    mismatched = sum(not (torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]))
                     for a, b in zip(ours, ref)) + abs(len(ours) - len(ref))
    order = torch.cat([y for _, y in DataLoader(plain, 64, shuffle=True, seed=3)]).numpy()
    img = plain[5][0][0].numpy()
    shift_err = max(np.abs(shift_image(img, dy, dx) - ndimage.shift(img, (dy, dx), order=0)).max()
                    for dy, dx in [(1, 0), (-1, 1), (0, -1), (2, 2)])
    return CheckResult(LAB, (
        Check("batches differing from torch DataLoader (no shuffle)", mismatched, 0),
        Check("shuffled epoch is a permutation: |label counts - original|",
              float(np.abs(np.bincount(order) - np.bincount(plain.y)).sum()), 0),
        Check("max |shift - scipy.ndimage.shift|", float(shift_err), 0),
    ))
