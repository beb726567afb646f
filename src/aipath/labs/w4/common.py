"""What the week-4 labs share: the digits split, the model, and a configured Trainer.

Digits (8x8, scikit-learn) are split 1200 / 300 / 297 into train / validation / test.
"""

from __future__ import annotations

from pathlib import Path

from aipath.labs.datasets import digits_images
from aipath.nn.config import TrainConfig


def splits(augment: bool = False):
    """(train, val, test) ArrayDatasets; ``augment`` shifts training images by up to 1 px."""
    from aipath.nn.data import ArrayDataset, compose, gaussian_noise, random_shift

    x, y = digits_images()
    transform = compose(random_shift(1), gaussian_noise(0.05)) if augment else None
    return (ArrayDataset(x[:1200], y[:1200], transform=transform),
            ArrayDataset(x[1200:1500], y[1200:1500]), ArrayDataset(x[1500:], y[1500:]))


def make_trainer(config: TrainConfig, out_dir: Path | None, augment: bool = False,
                 width: int = 8):
    """A SmallCNN (seeded by ``config.seed``) inside a Trainer on the digits split."""
    import torch

    from aipath.nn.models import SmallCNN
    from aipath.nn.trainer import Trainer

    torch.manual_seed(config.seed)
    train, val, test = splits(augment)
    return Trainer(SmallCNN(8, width=width), config, train, val, test, out_dir=out_dir)
