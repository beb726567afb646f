"""A custom Dataset, image augmentations and a DataLoader, written out.

The loader shuffles with a NumPy generator seeded by ``seed + epoch``: every epoch sees a
new order, yet any epoch can be replayed exactly, which makes checkpoint resume exact.

>>> loader = DataLoader(ArrayDataset(np.arange(5.0)[:, None], np.arange(5)), batch_size=2)
>>> [len(y) for _, y in loader]
[2, 2, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class ArrayDataset(Dataset):
    """Features and integer labels held in memory; an optional transform per sample.

    Float features become float32; integer features (token ids) stay integers (int64).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, transform: Transform | None = None,
                 seed: int = 0) -> None:
        assert len(x) == len(y), "features and labels differ in length"
        x = np.asarray(x)
        self.x = x.astype(np.int64) if x.dtype.kind in "iu" else x.astype(np.float32)
        self.y = np.asarray(y, np.int64)
        self.transform, self.rng = transform, np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[i]
        if self.transform is not None:
            x = self.transform(x, self.rng).astype(x.dtype)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.tensor(self.y[i])


def random_shift(max_shift: int) -> Transform:
    """Translate an image ``(..., H, W)`` by up to ``max_shift`` pixels, filling with zeros."""
    def apply(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        return shift_image(img, int(dy), int(dx))
    return apply


def shift_image(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(img)
    h, w = img.shape[-2:]
    src = img[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[..., max(0, dy):max(0, dy) + src.shape[-2], max(0, dx):max(0, dx) + src.shape[-1]] = src
    return out


def gaussian_noise(std: float) -> Transform:
    return lambda img, rng: img + rng.normal(0, std, img.shape).astype(img.dtype)


def compose(*transforms: Transform) -> Transform:
    def apply(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for t in transforms:
            img = t(img, rng)
        return img
    return apply


class DataLoader:
    """Batches of stacked tensors; ``shuffle`` draws a fresh permutation per epoch."""

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int = 0) -> None:
        assert batch_size >= 1
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        n = len(self.dataset)
        return np.random.default_rng(self.seed + epoch).permutation(n) if self.shuffle \
            else np.arange(n)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = self.order(self.epoch)
        self.epoch += 1
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                return
            yield collate([self.dataset[int(i)] for i in idx])


def collate(samples: Sequence[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.stack(parts) for parts in zip(*samples))
