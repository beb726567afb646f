"""The position-wise feed-forward networks: GELU MLP (GPT-2, BERT) and SwiGLU (Llama).

SwiGLU gates one projection with SiLU of another (``down(silu(gate(x)) * up(x))``); at the
same parameter count it trains better than a plain GELU MLP, which is why Llama-family
models use it with a hidden size of about 8/3 of the model width.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact GELU: ``x * Phi(x)`` with the normal CDF written through erf (BERT)."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's tanh approximation of GELU (``gelu_new`` in transformers)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU / swish: ``x * sigmoid(x)``."""
    return x * torch.sigmoid(x)


class GeluMLP(nn.Module):
    """``fc2(gelu(fc1(x)))``: expand to hidden_dim, nonlinearity, project back."""

    def __init__(self, dim: int, hidden_dim: int, bias: bool = True, approximate: bool = True) -> None:
        super().__init__()
        self.up = nn.Linear(dim, hidden_dim, bias=bias)
        self.down = nn.Linear(hidden_dim, dim, bias=bias)
        self.act = gelu_tanh if approximate else gelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(x)))


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))``."""

    def __init__(self, dim: int, hidden_dim: int, bias: bool = False) -> None:
        super().__init__()
        self.gate = nn.Linear(dim, hidden_dim, bias=bias)
        self.up = nn.Linear(dim, hidden_dim, bias=bias)
        self.down = nn.Linear(hidden_dim, dim, bias=bias)
        self.gate_up: nn.Module | None = None  # gate and up as one layer, set by ``fuse.fuse_projections_``

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = (self.gate(x), self.up(x)) if self.gate_up is None else self.gate_up(x).chunk(2, dim=-1)
        return self.down(silu(gate) * up)


def make_mlp(kind: str, dim: int, hidden_dim: int, bias: bool) -> nn.Module:
    """The MLP a config asks for (``"gelu"``, ``"gelu_tanh"`` or ``"swiglu"``)."""
    if kind == "swiglu":
        return SwiGLU(dim, hidden_dim, bias)
    if kind in ("gelu", "gelu_tanh"):
        return GeluMLP(dim, hidden_dim, bias, approximate=kind == "gelu_tanh")
    raise ValueError(f"unknown mlp {kind!r}")
