"""Int8 weight-only quantisation with one scale per output channel.

Each row ``w[o]`` of a linear layer is stored as ``round(w[o] / s[o])`` in int8 with
``s[o] = max|w[o]| / 127``: a quarter of float32's memory, and the error of a row is at
most half a step of that row's own scale. Activations stay float32; each call dequantises
the layer's weights into a float32 temporary and multiplies, so this saves memory, not
time. (PyTorch's fused ``_weight_int8pack_mm`` does the same in one kernel but measured
3-20x slower than dequantising on this AVX2-only CPU. Quantising the activations too,
fbgemm's dynamic int8, was fast but SmolLM2's activation outliers made its top-1
predictions disagree with float32 on most positions, so it is not offered.)

A tied embedding shares the head's int8 table and dequantises only the rows it looks up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        return F.linear(x, self.q.to(x.dtype) * self.scale[:, None], self.bias)


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
    tied = model.lm_head.weight is model.embed.weight
    untied_table = None if tied else quantize_per_channel(model.embed.weight.detach())
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear.from_linear(child))
    model.embed = Int8Embedding(model.lm_head.q, model.lm_head.scale) if tied else Int8Embedding(*untied_table)
    return model
