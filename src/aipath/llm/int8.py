"""Int8 weight-only quantisation with one scale per output channel.

Each row ``w[o]`` of a linear layer is stored as ``round(w[o] / s[o])`` in int8 with
``s[o] = max|w[o]| / 127``: a quarter of float32's memory, and the error of a row is at
most half a step of that row's own scale. Activations stay float32.

The int8 rows are stored in panels of 16 output channels (``int8_kernel``'s layout), and
``Int8Linear`` multiplies with the hand-written kernel, which widens the weights in
registers: decoding reads a quarter of the bytes, so it is up to 4x faster than float32
(batch 1 is memory-bound). Where the kernel cannot be built the layer dequantises into a
float32 temporary and multiplies (same numbers, saves memory, not time). PyTorch's own
``_weight_int8pack_mm`` measured 3-20x slower than dequantising on this AVX2-only CPU, and
quantising the activations too (fbgemm's dynamic int8) made SmolLM2's top-1 predictions
disagree with float32 on most positions (activation outliers), so neither is used.

A tied embedding shares the head's int8 panels and dequantises only the rows it looks up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aipath.llm.int8_kernel import PANEL, load_kernel, q8_embed, q8_linear


def quantize_per_channel(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(int8 weights, float32 scales)`` with ``w ~= q * scale[:, None]``."""
    scale = w.float().abs().amax(dim=1).clamp(min=1e-12) / 127.0
    q = torch.round(w.float() / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


def _pad_rows(t: torch.Tensor) -> torch.Tensor:
    """``t`` with zero rows appended up to a multiple of ``PANEL`` (the kernel reads whole panels)."""
    extra = -t.shape[0] % PANEL
    return torch.cat([t, t.new_zeros((extra, *t.shape[1:]))]) if extra else t.contiguous()


def to_panels(q: torch.Tensor) -> torch.Tensor:
    """(N, K) int8 rows -> (ceil(N/16), K, 16): each input channel's 16 weights contiguous."""
    rows = _pad_rows(q)
    return rows.view(-1, PANEL, rows.shape[1]).transpose(1, 2).contiguous()


def panel_rows(panels: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Int8 rows ``ids`` (any shape) gathered back out of the panels: ``ids.shape + (K,)``."""
    return panels[ids // PANEL, :, ids % PANEL]


class Int8Linear(nn.Module):
    """Drop-in for ``nn.Linear`` holding int8 weight panels and per-channel scales (padded to 16)."""

    def __init__(self, panels: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None, out_features: int) -> None:
        super().__init__()
        self.out_features = out_features
        self.register_buffer("panels", panels)
        self.register_buffer("scale", scale)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> "Int8Linear":
        q, scale = quantize_per_channel(linear.weight.detach())
        bias = None if linear.bias is None else _pad_rows(linear.bias.detach().float())
        return cls(to_panels(q), _pad_rows(scale), bias, linear.out_features)

    def dequantized(self) -> torch.Tensor:
        """The float32 weight ``(out_features, in_features)`` these int8 numbers stand for."""
        ids = torch.arange(self.out_features)
        return panel_rows(self.panels, ids).float() * self.scale[ids, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 and load_kernel() is not None:
            return q8_linear(x, self.panels, self.scale, self.bias, self.out_features)
        bias = None if self.bias is None else self.bias[: self.out_features].to(x.dtype)
        return F.linear(x, self.dequantized().to(x.dtype), bias)


class Int8Embedding(nn.Module):
    """Embedding lookup from an int8 panel table (rows dequantised on the fly)."""

    def __init__(self, panels: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("panels", panels)
        self.register_buffer("scale", scale)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        panels, scale = self.panels, self.scale
        if (ids.dtype == torch.int64 and ids.device.type == panels.device.type == "cpu" and scale.dtype == torch.float32
                and panels.is_contiguous() and scale.is_contiguous() and load_kernel() is not None):
            # The same bits as below, without torch's advanced indexing: that gather starts an OpenMP
            # team, which the shared 2-core machine stalled for 4-8 ms a decode step at 2 threads.
            rows = q8_embed(panels, scale, ids.reshape(-1))
            if rows is not None:  # None: an id outside the table, which torch reports
                return rows.view(*ids.shape, rows.shape[1])
        return panel_rows(self.panels, ids).float() * self.scale[ids].unsqueeze(-1)


def quantize_int8_(model: nn.Module) -> nn.Module:
    """Replace, in place, every ``nn.Linear`` by ``Int8Linear`` and ``model.embed`` by ``Int8Embedding``."""
    tied = model.lm_head.weight is model.embed.weight
    untied_table = None if tied else quantize_per_channel(model.embed.weight.detach())
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear.from_linear(child))
    if tied:
        model.embed = Int8Embedding(model.lm_head.panels, model.lm_head.scale)
    else:
        model.embed = Int8Embedding(to_panels(untied_table[0]), _pad_rows(untied_table[1]))
    return model
