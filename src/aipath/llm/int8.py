"""Int8 weights with one scale per output channel, in two flavours.

Each row ``w[o]`` of a linear layer is stored as ``round(w[o] / s[o])`` in int8 with
``s[o] = max|w[o]| / 127``: a quarter of float32's memory, and the error of a row is at
most half a step of that row's own scale.

- ``int8`` (weight-only): activations stay float32; each call dequantises the layer's
  weights into a float32 temporary and multiplies. Exact to the int8 weights and simple;
  it saves memory, not time. (PyTorch's fused ``_weight_int8pack_mm`` does the same in
  one kernel but, on this AVX2-only CPU, measured 3-20x slower than dequantising.)
- ``int8-dynamic``: the same int8 weights, and each activation row is quantised to int8
  on the fly so the matmul runs in fbgemm's int8 kernel (W8A8 "dynamic quantisation").
  Fast on AVX2; adds about 1-3% relative error from quantising activations.

A tied embedding shares the head's int8 table and dequantises only the rows it looks up.
"""

from __future__ import annotations

import warnings

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


class DynamicInt8Linear(nn.Module):
    """``nn.Linear`` replacement running fbgemm's dynamically quantised int8 matmul."""

    def __init__(self, q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        with warnings.catch_warnings():  # quantized tensors are deprecated but still the fbgemm entry point
            warnings.simplefilter("ignore")
            qw = torch._make_per_channel_quantized_tensor(q, scale.double(), torch.zeros(len(q), dtype=torch.long), 0)
            self.packed = torch.ops.quantized.linear_prepack(qw, None if bias is None else bias.float())
        self.packed_bytes = q.nbytes + scale.nbytes
        self.out_features = q.shape[0]

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> "DynamicInt8Linear":
        return cls(*quantize_per_channel(linear.weight.detach()), linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # reduce_range: 7-bit activations, so AVX2's int16 pairwise sums (u8*s8 + u8*s8) cannot saturate
        flat = x.reshape(-1, x.shape[-1]).contiguous()
        return torch.ops.quantized.linear_dynamic(flat, self.packed, True).view(*x.shape[:-1], self.out_features)


class Int8Embedding(nn.Module):
    """Embedding lookup from an int8 table (rows dequantised on the fly)."""

    def __init__(self, q: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.q[ids].float() * self.scale[ids].unsqueeze(-1)


def quantize_int8_(model: nn.Module, dynamic: bool = False) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` (weight-only or dynamic int8) and ``model.embed``."""
    tied = model.lm_head.weight is model.embed.weight
    linear = DynamicInt8Linear if dynamic else Int8Linear
    embed_q, embed_scale = quantize_per_channel(model.embed.weight.detach())
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, linear.from_linear(child))
    if tied and not dynamic:  # share the head's table (fbgemm keeps its own packed copy)
        embed_q, embed_scale = model.lm_head.q, model.lm_head.scale
    model.embed = Int8Embedding(embed_q, embed_scale)
    return model
