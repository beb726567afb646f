"""Scaled dot-product attention written out, and the multi-head / grouped-query layer around it.

``softmax(q k^T / sqrt(d) + mask) v``: every query position takes a weighted average of the
value vectors, weighted by how well its query matches each key. Masks are boolean and say
where attention is *allowed* (``True``): causal (no peeking at later tokens) and padding
(no attending to pad tokens of a left-padded batch).

Grouped-query attention (GQA) lets several query heads share one key/value head, which
shrinks the KV cache; it is done here by broadcasting a ``(kv_heads, group)`` view of the
queries against the keys, so the cache is never copied per query head.
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
    h_kv = k.shape[1]
    qg = q.view(b, h_kv, h // h_kv, t, d)  # query heads grouped under their kv head
    scores = (qg @ k.unsqueeze(2).transpose(-1, -2)) / math.sqrt(d)  # (B, H_kv, G, T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask.unsqueeze(2), torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return (weights @ v.unsqueeze(2)).view(b, h, t, d)


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
        self.impl = cfg.attn_impl

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        rope: tuple[torch.Tensor, torch.Tensor] | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``rope`` is the ``(cos, sin)`` pair of these positions (None: no rotary encoding)."""
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.n_heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rotary(q, k, *rope)
        if cache is not None:
            k, v = cache.update(self.layer, k, v)
        out = ATTENTION[self.impl](q, k, v, mask)
        return self.o(out.transpose(1, 2).reshape(b, t, self.n_heads * self.hd))
