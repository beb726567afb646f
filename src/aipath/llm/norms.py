"""LayerNorm and RMSNorm, written out.

LayerNorm (GPT-2, BERT) recentres and rescales each vector; RMSNorm (Llama) only rescales,
which is cheaper and works as well. Both compute their statistics in float32 even when the
weights are bfloat16, as ``transformers`` does, so low-precision runs stay close.
"""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm(nn.Module):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` over the last dimension."""

    def __init__(self, dim: int, eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        mean = h.mean(-1, keepdim=True)
        var = (h - mean).pow(2).mean(-1, keepdim=True)  # biased variance, like torch
        h = (h - mean) * torch.rsqrt(var + self.eps)
        h = h.to(x.dtype) * self.weight
        return h + self.bias if self.bias is not None else h


class RMSNorm(nn.Module):
    """``y = x / sqrt(mean(x^2) + eps) * weight``: no mean subtraction, no bias."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def make_norm(kind: str, dim: int, eps: float, bias: bool = True) -> nn.Module:
    """The norm a config asks for (``"layernorm"`` or ``"rmsnorm"``)."""
    if kind == "layernorm":
        return LayerNorm(dim, eps, bias=bias)
    if kind == "rmsnorm":
        return RMSNorm(dim, eps)
    raise ValueError(f"unknown norm {kind!r}")
