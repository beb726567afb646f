"""Dropout and batch norm written out (autograd does their backward), plus conv arithmetic.

Dropout zeroes each activation with probability ``p`` during training and scales the rest
by ``1 / (1 - p)``, so the expected activation is unchanged and evaluation needs no
rescaling. Batch norm standardises each feature over the batch, then learns a scale and
shift; it keeps running averages of mean and (unbiased) variance for evaluation.

>>> conv_output_size(28, kernel=3, stride=1, padding=1), conv_output_size(28, 2, 2)
(28, 14)
"""

from __future__ import annotations

import torch
from torch import nn


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class Dropout(nn.Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        assert 0 <= p < 1
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)


class BatchNorm1d(nn.Module):
    """Normalise ``(batch, features)`` inputs per feature; same maths as torch.nn.BatchNorm1d."""

    def __init__(self, features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            with torch.no_grad():
                n = x.shape[0]
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Sum of |w| over weight matrices (not biases): pushes weights to exactly zero."""
    return sum(p.abs().sum() for n, p in model.named_parameters() if n.endswith("weight"))


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """Half the sum of w^2 over weight matrices: shrinks all weights smoothly."""
    return 0.5 * sum((p**2).sum() for n, p in model.named_parameters() if n.endswith("weight"))
