"""Attention over the paged KV cache: write new keys/values to their slots, gather by block.

The pool of one layer is ``(kv_heads, num_blocks, block_size, head_dim)``: kv-head-major,
so gathering a batch's block tables with one ``index_select`` copies whole blocks (4 KiB
runs at head_dim 64) and yields ``(kv_heads, batch, keys, head_dim)`` already laid out
for batched matmuls. Indexing single slots instead (``pool[slots]``) copies element by
element and was the largest cost of a decode step at long contexts.

``grouped_attention`` is ``aipath.llm.attention.scaled_dot_product_attention`` with the
query heads of one kv head folded into the rows of one matmul, so the keys are read once
per kv head instead of being broadcast (copied) to every query head of the group.
"""

from __future__ import annotations

import math

import torch


def new_pool(n_layers: int, kv_heads: int, num_blocks: int, block_size: int, head_dim: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Zeroed K or V storage for every layer: ``(layers, kv_heads, num_blocks, block_size, head_dim)``."""
    return torch.zeros(n_layers, kv_heads, num_blocks, block_size, head_dim, dtype=dtype, device=device)


def write(pool: torch.Tensor, slots: torch.Tensor, x: torch.Tensor) -> None:
    """Store ``x`` (kv_heads, N, head_dim) at flat slots ``slots`` (N,) of one layer's ``pool``."""
    h, blocks, size, d = pool.shape
    pool.view(h, blocks * size, d).index_copy_(1, slots, x)


def gather(pool: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
    """Keys or values of whole blocks: ``tables`` (B, n) block ids -> ``(kv_heads, B, n * block_size, head_dim)``."""
    h, _, size, d = pool.shape
    b, n = tables.shape
    return pool.index_select(1, tables.reshape(-1)).view(h, b, n * size, d)


def grouped_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d), masked) v`` for ``q`` (B, Q, H, D), ``k``/``v`` (H_kv, B, S, D),
    ``mask`` (B, Q, S) True where allowed; returns (B, Q, H, D).

    Every row of ``mask`` must allow at least one key (padding queries included), else the
    row averages uniformly, as in the naive attention.
    """
    b, t, h, d = q.shape
    h_kv, s = k.shape[0], k.shape[2]
    g = h // h_kv
    rows = q.view(b, t, h_kv, g, d).permute(2, 0, 1, 3, 4).reshape(h_kv, b, t * g, d)
    scores = (rows @ k.transpose(-1, -2)) / math.sqrt(d)  # (H_kv, B, T * G, S)
    scores = scores.view(h_kv, b, t, g, s).masked_fill(~mask[None, :, :, None, :], torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype).view(h_kv, b, t * g, s)
    out = weights @ v  # (H_kv, B, T * G, D)
    return out.view(h_kv, b, t, g, d).permute(1, 2, 0, 3, 4).reshape(b, t, h, d)
