"""The KV cache: keys and values of past positions, kept so each new token costs O(1) projections.

Without it, generating token ``n`` re-runs the whole prefix through every layer. With it,
each layer appends the new token's key/value and attends over what is stored. Memory is
preallocated for ``max_len`` positions (no re-allocation while decoding); all rows of a
batch share one write position, and padding is handled by the attention mask.
"""

from __future__ import annotations

import torch


class KVCache:
    """Per-layer key/value buffers of shape ``(batch, kv_heads, max_len, head_dim)``."""

    def __init__(self, n_layers: int, batch: int, kv_heads: int, max_len: int, head_dim: int, dtype: torch.dtype) -> None:
        shape = (n_layers, batch, kv_heads, max_len, head_dim)
        self.k = torch.zeros(shape, dtype=dtype)
        self.v = torch.zeros(shape, dtype=dtype)
        self.layers = list(zip(self.k.unbind(0), self.v.unbind(0)))  # per-layer views, made once
        self.max_len = max_len
        self.length = 0  # positions already stored (the same for every layer between steps)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``k``/``v`` (B, H_kv, T, D) after the cached prefix; return the full history."""
        end = self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache full: {end} positions > max_len {self.max_len}")
        k_all, v_all = self.layers[layer]
        k_all.narrow(2, self.length, k.shape[2]).copy_(k)
        v_all.narrow(2, self.length, v.shape[2]).copy_(v)
        return k_all.narrow(2, 0, end), v_all.narrow(2, 0, end)

    def advance(self, n: int) -> None:
        """Called once per forward pass, after every layer has stored its ``n`` new positions."""
        self.length += n

    def nbytes(self) -> int:
        return self.k.nbytes + self.v.nbytes
