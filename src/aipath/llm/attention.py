"""Scaled dot-product attention written out, and the multi-head / grouped-query layer around it.

``softmax(q k^T / sqrt(d) + mask) v``: every query position takes a weighted average of the
value vectors, weighted by how well its query matches each key. Masks are boolean and say
where attention is *allowed* (``True``): causal (no peeking at later tokens) and padding
(no attending to pad tokens of a left-padded batch).

Grouped-query attention (GQA) lets several query heads share one key/value head, which
shrinks the KV cache; here the query heads of a group are stacked along the query axis, so
each key/value head meets all of its queries in one plain batched matmul and the cache is
never copied per query head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aipath.llm.config import ModelConfig
from aipath.llm.flash import flash_attention
from aipath.llm.kv_cache import KVCache
from aipath.llm.norms import RMSNorm
from aipath.llm.positions import apply_rotary


def build_mask(q_len: int, start: int, key_valid: torch.Tensor | None, causal: bool = True) -> torch.Tensor | None:
    """Boolean mask ``(batch|1, 1, q_len, start + q_len)``; ``None`` when nothing is masked.

    Query ``i`` sits at absolute index ``start + i`` (``start`` tokens are already cached);
    ``key_valid`` is ``(batch, start + q_len)`` with ``False`` at padding.
    """
    k_len = start + q_len
    mask = None
    if causal and q_len > 1:
        q_idx = torch.arange(start, k_len)[:, None]
        mask = (torch.arange(k_len)[None, :] <= q_idx)[None, None]
    if key_valid is not None and not bool(key_valid.all()):
        pad = key_valid[:, None, None, :]
        mask = pad if mask is None else mask & pad
    return mask


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Naive attention. ``q``: (B, H, T, D); ``k``, ``v``: (B, H_kv, S, D) with H % H_kv == 0.

    Masked scores get the most negative finite value rather than -inf, so a row with no
    allowed key (a pad query) averages uniformly instead of producing NaN.
    """
    b, h, t, d = q.shape
    h_kv, s = k.shape[1], k.shape[2]
    g = h // h_kv
    qg = q.reshape(b, h_kv, g * t, d)  # the G query heads of each kv head, one after another
    scores = (qg @ k.transpose(-1, -2)) / math.sqrt(d)  # (B, H_kv, G*T, S)
    if mask is not None:
        grouped = scores.view(b, h_kv, g, t, s).masked_fill(~mask.unsqueeze(2), torch.finfo(scores.dtype).min)
        scores = grouped.view(b, h_kv, g * t, s)
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return (weights @ v).view(b, h, t, d)


def torch_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The same computation through PyTorch's fused kernel (the fast path for benchmarks)."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=k.shape[1] != q.shape[1])


ATTENTION = {"naive": scaled_dot_product_attention, "flash": flash_attention, "torch": torch_attention}


class Attention(nn.Module):
    """Multi-head attention with optional GQA, RoPE, q/k norm and a KV cache."""

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.layer = layer  # index into the KV cache
        self.n_heads, self.n_kv, self.hd = cfg.n_heads, cfg.kv_heads, cfg.head_size
        qkv_bias = cfg.bias or cfg.qkv_bias
        self.q = nn.Linear(cfg.dim, self.n_heads * self.hd, bias=qkv_bias)
        self.k = nn.Linear(cfg.dim, self.n_kv * self.hd, bias=qkv_bias)
        self.v = nn.Linear(cfg.dim, self.n_kv * self.hd, bias=qkv_bias)
        self.o = nn.Linear(self.n_heads * self.hd, cfg.dim, bias=cfg.bias)
        self.q_norm = RMSNorm(self.hd, cfg.norm_eps) if cfg.qk_norm else None
        self.k_norm = RMSNorm(self.hd, cfg.norm_eps) if cfg.qk_norm else None
        self.qkv: nn.Module | None = None  # q, k and v as one layer, set by ``fuse.fuse_projections_``
        self.impl = cfg.attn_impl

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``q`` (B, H, T, D), ``k`` and ``v`` (B, H_kv, T, D): one matmul when the projections are fused."""
        b, t, _ = x.shape
        if self.qkv is not None:
            heads = self.qkv(x).view(b, t, -1, self.hd).transpose(1, 2)
            return heads.split([self.n_heads, self.n_kv, self.n_kv], dim=1)
        return tuple(proj(x).view(b, t, -1, self.hd).transpose(1, 2) for proj in (self.q, self.k, self.v))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        rope: tuple[torch.Tensor, torch.Tensor] | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``rope`` is the ``(cos, sin)`` pair of these positions (None: no rotary encoding)."""
        b, t, _ = x.shape
        q, k, v = self.project(x)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rotary(q, k, *rope)
        if cache is not None:
            k, v = cache.update(self.layer, k, v)
        out = ATTENTION[self.impl](q, k, v, mask)
        return self.o(out.transpose(1, 2).reshape(b, t, self.n_heads * self.hd))
