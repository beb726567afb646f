"""Fused projections: q/k/v as one layer and SwiGLU's gate/up as one, sharing the weights' storage.

Decoding one token runs about sixty small operations per block, and on a CPU each costs
microseconds of dispatch before any arithmetic. One matmul for q, k and v (and one for gate
and up) saves three of the seven weight multiplications per block, and the larger matmuls
use the threads better. The fused weight is the concatenation of the parts; the separate
layers (``attn.q``, ``mlp.gate``, ...) are kept, re-pointed at slices of it, so code that
calls them (the serving engine) still works and no weight is stored twice.
"""

from __future__ import annotations

import torch
from torch import nn

from aipath.llm.decoder import Decoder
from aipath.llm.int8 import PANEL, Int8Linear
from aipath.llm.mlp import SwiGLU


def fuse_projections_(model: Decoder) -> Decoder:
    """Give every block ``attn.qkv`` and (SwiGLU) ``mlp.gate_up``; parts that cannot be fused stay separate."""
    for layer in model.layers:
        attn = layer.attn
        attn.qkv = fuse_linears([attn.q, attn.k, attn.v])
        if isinstance(layer.mlp, SwiGLU):
            layer.mlp.gate_up = fuse_linears([layer.mlp.gate, layer.mlp.up])
    return model


def fuse_linears(parts: list[nn.Module]) -> nn.Module | None:
    """One layer computing ``cat([p(x) for p in parts], -1)``, or None when the parts do not fit together."""
    if len({p.bias is None for p in parts}) > 1:
        return None
    if all(type(p) is nn.Linear for p in parts):
        return _fuse_float(parts)
    if all(isinstance(p, Int8Linear) for p in parts) and all(p.out_features % PANEL == 0 for p in parts):
        return _fuse_int8(parts)  # whole panels only: padding would leave holes between the parts
    return None


def _fuse_float(parts: list[nn.Linear]) -> nn.Linear:
    weight = torch.cat([p.weight.detach() for p in parts])
    bias = None if parts[0].bias is None else torch.cat([p.bias.detach() for p in parts])
    with torch.device("meta"):
        fused = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=weight.dtype)
    fused.weight = nn.Parameter(weight, requires_grad=False)
    fused.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
    for p, w, b in zip(parts, _slices(weight, parts), _slices(bias, parts)):
        p.weight = nn.Parameter(w, requires_grad=False)
        p.bias = None if b is None else nn.Parameter(b, requires_grad=False)
    return fused


def _fuse_int8(parts: list[Int8Linear]) -> Int8Linear:
    panels = torch.cat([p.panels for p in parts])
    scale = torch.cat([p.scale for p in parts])
    bias = None if parts[0].bias is None else torch.cat([p.bias.detach() for p in parts])
    fused = Int8Linear(panels, scale, bias, sum(p.out_features for p in parts))
    for p, pan, s, b in zip(parts, panels.split([p.out_features // PANEL for p in parts]), _slices(scale, parts), _slices(bias, parts)):
        p.panels, p.scale = pan, s
        p.bias = None if b is None else nn.Parameter(b, requires_grad=False)
    return fused


def _slices(t: torch.Tensor | None, parts: list[nn.Module]) -> list[torch.Tensor | None]:
    return [None] * len(parts) if t is None else list(t.split([p.out_features for p in parts]))
