"""Int8 weight-only quantisation with one scale per output channel.

Each row ``w[o]`` of a linear layer is stored as ``round(w[o] / s[o])`` in int8 with
``s[o] = max|w[o]| / 127``: a quarter of float32's memory, and the error of a row is at
most half a step of that row's own scale. Activations stay float32; the matmul runs in
PyTorch's weight-only int8 kernel (``_weight_int8pack_mm``), which scales the outputs.
A tied embedding shares the head's int8 table and dequantises only the rows it looks up.
"""

from __future__ import annotations

import torch
from torch import nn


def quantize_per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(int8 weights, float32 scales)`` with ``w ~= q * scale[:, None]``."""
    scale = w.float().abs().amax(dim=1).clamp(min=1e-12) / 127.0
    q = torch.round(w.float() / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


class Int8Linear(nn.Module):
    """Drop-in for ``nn.Linear`` holding int8 weights and per-channel scales."""

    def __init__(self, q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)
        self.bias = None if bias is None else nn.Parameter(bias.float(), requires_grad=False)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> "Int8Linear":
        return cls(*quantize_per_channel(linear.weight.detach()), linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1]).contiguous()
        y = torch._weight_int8pack_mm(flat, self.q, self.scale).view(*x.shape[:-1], -1)
        return y + self.bias if self.bias is not None else y


class Int8Embedding(nn.Module):
    """Embedding lookup from an int8 table (rows dequantised on the fly)."""

    def __init__(self, q: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.q[ids].float() * self.scale[ids].unsqueeze(-1)


def quantize_int8_(model: nn.Module) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` by ``Int8Linear`` and ``model.embed`` by ``Int8Embedding``."""
    tied = getattr(model, "lm_head", None) is not None and model.lm_head.weight is model.embed.weight
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear.from_linear(child))
    if tied:
        model.embed = Int8Embedding(model.lm_head.q, model.lm_head.scale)
    else:
        model.embed = Int8Embedding(*quantize_per_channel(model.embed.weight.detach()))
    return model
