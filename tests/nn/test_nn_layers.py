"""Dropout, batch norm, penalties and conv arithmetic against torch.nn."""

import torch
from torch import nn

from aipath.nn.layers import BatchNorm1d, Dropout, conv_output_size, l1_penalty, l2_penalty
from aipath.nn.models import SmallCNN


def test_batch_norm_matches_torch_in_train_and_eval():
    torch.manual_seed(0)
    ours, ref = BatchNorm1d(6).double(), nn.BatchNorm1d(6).double()
    for _ in range(5):
        x = torch.randn(16, 6, dtype=torch.float64) * 3 + 1
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(xa), ref(xb)
        torch.testing.assert_close(ya, yb)
        (ya**3).sum().backward()
        (yb**3).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval()
    ref.eval()
    x = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x))


def test_dropout_keeps_expectation_and_is_identity_in_eval():
    torch.manual_seed(0)
    drop = Dropout(0.3)
    x = torch.ones(200_000)
    y = drop(x)
    kept = y != 0
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    frac = kept.double().mean().item()
    assert abs(frac - 0.7) < 5 * (0.7 * 0.3 / len(x)) ** 0.5
    drop.eval()
    assert torch.equal(drop(x), x)


def test_penalties_match_autograd_definitions():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    weights = [model[0].weight, model[2].weight]
    torch.testing.assert_close(l1_penalty(model), sum(w.abs().sum() for w in weights))
    torch.testing.assert_close(l2_penalty(model), 0.5 * sum((w * w).sum() for w in weights))
    l2_penalty(model).backward()
    torch.testing.assert_close(model[0].weight.grad, model[0].weight.detach())
    assert model[0].bias.grad is None


def test_conv_output_size_matches_torch_shapes():
    for size, k, s, p, d in [(28, 3, 1, 1, 1), (28, 5, 2, 0, 1), (17, 3, 2, 1, 2), (8, 2, 2, 0, 1)]:
        conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == conv_output_size(size, k, s, p, d)
    for size in (8, 28):
        assert SmallCNN(size, 1, 10, 4)(torch.zeros(2, 1, size, size)).shape == (2, 10)
