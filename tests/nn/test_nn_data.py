"""Dataset, augmentations and DataLoader against torch.utils.data and NumPy."""

import numpy as np
import torch
from numpy.testing import assert_array_equal
from scipy import ndimage
from torch.utils.data import DataLoader as TorchLoader

from aipath.nn.data import ArrayDataset, DataLoader, compose, gaussian_noise, random_shift, shift_image

X = np.arange(23 * 4, dtype=np.float32).reshape(23, 4)
Y = np.arange(23) % 3


def test_unshuffled_batches_equal_torch_dataloader():
    ds = ArrayDataset(X, Y)
    for drop_last in (False, True):
        ours = list(DataLoader(ds, 5, drop_last=drop_last))
        ref = list(TorchLoader(ds, 5, drop_last=drop_last))
        assert len(ours) == len(ref) == len(DataLoader(ds, 5, drop_last=drop_last))
        for (xa, ya), (xb, yb) in zip(ours, ref):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_shuffle_is_a_fresh_reproducible_permutation_each_epoch():
    loader = DataLoader(ArrayDataset(X, Y), 4, shuffle=True, seed=7)
    epochs = [torch.cat([x[:, 0] for x, _ in loader]).numpy() for _ in range(3)]
    for e in epochs:
        assert_array_equal(np.sort(e), X[:, 0])
    assert not np.array_equal(epochs[0], epochs[1])
    again = DataLoader(ArrayDataset(X, Y), 4, shuffle=True, seed=7)
    again.epoch = 1
    assert_array_equal(torch.cat([x[:, 0] for x, _ in again]).numpy(), epochs[1])


def test_shift_matches_scipy_ndimage_shift():
    img = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    for dy, dx in [(0, 0), (1, -2), (-3, 2), (7, 7)]:
        ref = ndimage.shift(img, (dy, dx), order=0, mode="constant", cval=0.0)
        assert_array_equal(shift_image(img, dy, dx), ref)


def test_augmentations_within_bounds():
    rng = np.random.default_rng(1)
    img = np.zeros((1, 8, 8), np.float32)
    img[0, 4, 4] = 1.0
    shifted = random_shift(2)(img, rng)
    (y,), (x,) = np.nonzero(shifted[0])
    assert abs(y - 4) <= 2 and abs(x - 4) <= 2
    noisy = compose(random_shift(0), gaussian_noise(0.1))(np.zeros((40, 50), np.float32), rng)
    assert abs(noisy.std() - 0.1) < 0.01
