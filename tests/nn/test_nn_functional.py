"""Activations, their derivatives and losses against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_allclose

from aipath.nn import functional as f

rng = np.random.default_rng(0)
X = np.r_[rng.normal(0, 3, 50), [-800.0, 0.0, 800.0]]


@pytest.mark.parametrize("name,ref", [("relu", torch.relu), ("sigmoid", torch.sigmoid),
                                      ("tanh", torch.tanh)])
def test_activation_and_gradient_match_torch(name, ref):
    t = torch.tensor(X, requires_grad=True)
    ref(t).sum().backward()
    assert_allclose(getattr(f, name)(X), ref(t).detach().numpy(), atol=1e-15)
    assert_allclose(getattr(f, f"{name}_grad")(X), t.grad.numpy(), atol=1e-15)


def test_gelu_and_softmax_match_torch():
    t = torch.tensor(X)
    assert_allclose(f.gelu(X), F.gelu(t).numpy(), atol=1e-12)
    logits = rng.normal(0, 5, (6, 4))
    logits[0] += 1000
    assert_allclose(f.softmax(logits), torch.softmax(torch.tensor(logits), -1).numpy(),
                    atol=1e-15)
    assert_allclose(f.log_softmax(logits), torch.log_softmax(torch.tensor(logits), -1).numpy(),
                    atol=1e-12)


def test_losses_match_torch():
    logits, target = rng.normal(0, 2, (8, 5)), rng.integers(0, 5, 8)
    t = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(t, torch.tensor(target))
    loss.backward()
    assert_allclose(f.cross_entropy(logits, target), loss.item(), rtol=1e-12)
    assert_allclose(f.cross_entropy_grad(logits, target), t.grad.numpy(), atol=1e-15)
    pred, y = rng.normal(size=20), rng.normal(size=20) * 3
    assert_allclose(f.mse(pred, y), F.mse_loss(torch.tensor(pred), torch.tensor(y)).item())
    assert_allclose(f.huber(pred, y), F.huber_loss(torch.tensor(pred), torch.tensor(y)).item())
    z, b = rng.normal(0, 30, 20), rng.integers(0, 2, 20).astype(float)
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(b)).item()
    assert_allclose(f.binary_cross_entropy_with_logits(z, b), ref, rtol=1e-12)
