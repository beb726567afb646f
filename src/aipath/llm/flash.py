"""Attention the FlashAttention way: tiles of keys, an online softmax, no (T x S) score matrix.

This is the teaching version (week 5, day 6), in plain PyTorch: it shows *why* flash
attention needs only O(T) extra memory, not that it is fast here. For each tile of queries
we walk over tiles of keys, keeping per query a running maximum ``m``, a running softmax
denominator ``l`` and an unnormalised output ``acc``. When a new tile raises the maximum,
the old ``l`` and ``acc`` are rescaled by ``exp(m_old - m_new)``; at the end ``acc / l`` is
exactly ``softmax(scores) @ v``.
"""

from __future__ import annotations

import math

import torch


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, block_q: int = 32, block_k: int = 32
) -> torch.Tensor:
    """Same contract as ``attention.scaled_dot_product_attention`` (GQA and boolean masks)."""
    b, h, t, d = q.shape
    h_kv, s = k.shape[1], k.shape[2]
    qg = q.view(b, h_kv, h // h_kv, t, d).float() / math.sqrt(d)
    kg, vg = k.unsqueeze(2).float(), v.unsqueeze(2).float()
    masks = None if mask is None else mask.unsqueeze(2)  # (B|1, 1, 1, T, S)
    out = torch.empty_like(qg)
    for i0 in range(0, t, block_q):
        i1 = min(i0 + block_q, t)
        out[..., i0:i1, :] = _query_tile(qg[..., i0:i1, :], kg, vg, None if masks is None else masks[..., i0:i1, :], block_k, s)
    return out.view(b, h, t, d).to(q.dtype)


def _query_tile(qi: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, block_k: int, s: int) -> torch.Tensor:
    """Online softmax of one query tile over all key tiles."""
    m = torch.full(qi.shape[:-1] + (1,), -math.inf)  # running max of the scores
    l = torch.zeros_like(m)  # running sum of exp(score - m)
    acc = torch.zeros_like(qi)  # running sum of exp(score - m) * v
    for j0 in range(0, s, block_k):
        j1 = min(j0 + block_k, s)
        scores = qi @ k[..., j0:j1, :].transpose(-1, -2)
        if mask is not None:
            scores = scores.masked_fill(~mask[..., j0:j1], torch.finfo(scores.dtype).min)
        m_new = torch.maximum(m, scores.amax(-1, keepdim=True))
        p = torch.exp(scores - m_new)
        rescale = torch.exp(m - m_new)  # shrink what was accumulated under the old maximum
        l = l * rescale + p.sum(-1, keepdim=True)
        acc = acc * rescale + p @ v[..., j0:j1, :]
        m = m_new
    return acc / l
