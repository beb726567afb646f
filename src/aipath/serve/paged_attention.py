"""Attention over the paged KV cache: write new keys/values to their slots, gather by block.

One layer's pool is ``(num_blocks, kv_heads, block_size, head_dim)``. Gathering a batch's
block tables is one ``index_select`` over (block, kv head) pairs, ordered so that the
result is ``(batch, kv_heads, keys, head_dim)``, contiguous: it copies whole runs of
``block_size * head_dim`` values (4 KiB at 16 x 64), and the query heads of each kv head
then meet their keys in one plain batched matmul with no further copy. Indexing single
slots instead (``pool[slots]``) copies element by element, and broadcasting the keys to
every query head of a group copies them again: those two were the largest costs of a
decode step at long contexts.

``grouped_attention`` is ``aipath.llm.attention.scaled_dot_product_attention`` written as
``baddbmm`` (scores, scale and mask in one call: the mask is an additive bias built once
per step and shared by every layer), softmax and ``bmm``.
"""

from __future__ import annotations

import math

import torch


def new_pool(n_layers: int, num_blocks: int, kv_heads: int, block_size: int, head_dim: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Zeroed K or V storage for every layer: ``(layers, num_blocks, kv_heads, block_size, head_dim)``."""
    return torch.zeros(n_layers, num_blocks, kv_heads, block_size, head_dim, dtype=dtype, device=device)


def slot_rows(blocks: torch.Tensor, offsets: torch.Tensor, h_kv: int, block_size: int) -> torch.Tensor:
    """The pool rows (of head_dim values) that ``write`` fills for tokens at slot ``offsets`` (N,)
    of blocks ``blocks`` (N,): (N * H_kv,), token-major. Built once per step, shared by every layer."""
    heads = torch.arange(h_kv, device=blocks.device)
    return ((blocks[:, None] * h_kv + heads) * block_size + offsets[:, None]).reshape(-1)


def write(pool: torch.Tensor, rows: torch.Tensor, x: torch.Tensor) -> None:
    """Store ``x`` (N, kv_heads, head_dim) at ``slot_rows`` ``rows`` of one layer's ``pool``."""
    d = pool.shape[-1]
    pool.view(-1, d).index_copy_(0, rows, x.reshape(-1, d))


def block_rows(tables: torch.Tensor, h_kv: int) -> torch.Tensor:
    """The (block, kv head) rows that ``gather`` reads for block tables ``tables`` (B, n), in (B, H_kv, n) order.
    Built once per step: every layer gathers the same rows."""
    return (tables[:, None, :] * h_kv + torch.arange(h_kv, device=tables.device)[:, None]).reshape(-1)


def gather(pool: torch.Tensor, rows: torch.Tensor, batch: int) -> torch.Tensor:
    """Keys or values of whole blocks, from ``block_rows``: ``(batch, kv_heads, n * block_size, head_dim)``."""
    _, h, size, d = pool.shape
    return pool.view(-1, size, d).index_select(0, rows).view(batch, h, -1, d)


def attention_bias(mask: torch.Tensor, h_kv: int, group: int, dtype: torch.dtype) -> torch.Tensor:
    """The additive form of ``mask`` (B, Q, S) (0 where allowed, -inf elsewhere), laid out as
    ``grouped_attention``'s scores: ``(B * H_kv, G * Q, S)``."""
    b, t, s = mask.shape
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, float("-inf"))
    return bias[:, None, None].expand(b, h_kv, group, t, s).reshape(b * h_kv, group * t, s)


def grouped_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + bias) v`` for ``q`` (B, Q, H, D) and ``k``/``v`` (B, H_kv, S, D); returns (B, Q, H, D).

    ``bias`` comes from ``attention_bias``; every row must allow at least one key (padding
    queries included). For one query per sequence the reshapes below are views, no copies.
    """
    b, t, h, d = q.shape
    h_kv, s = k.shape[1], k.shape[2]
    g = h // h_kv
    rows = q.view(b, t, h_kv, g, d).permute(0, 2, 3, 1, 4).reshape(b * h_kv, g * t, d)
    scores = torch.baddbmm(bias, rows, k.view(b * h_kv, s, d).transpose(1, 2), alpha=1 / math.sqrt(d))
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.bmm(weights, v.view(b * h_kv, s, d))  # (B * H_kv, G * Q, D)
    return out.view(b, h_kv, g, t, d).permute(0, 3, 1, 2, 4).reshape(b, t, h, d)
