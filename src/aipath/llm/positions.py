"""Position encodings: sinusoidal (the original Transformer), learned (GPT-2, BERT), rotary (Llama).

Attention itself is order-blind, so order has to be injected. Sinusoidal and learned
encodings are *added* to the token embeddings once; rotary embeddings (RoPE) instead
*rotate* each query/key channel pair by an angle proportional to the position, so the dot
product of a query and a key depends only on their distance.
"""

from __future__ import annotations

import torch
from torch import nn


def sinusoidal_table(n_positions: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """``PE[p, 2i] = sin(p / base^(2i/d))`` and ``PE[p, 2i+1] = cos(...)``; shape ``(n, dim)``."""
    pos = torch.arange(n_positions, dtype=torch.float64, device="cpu")[:, None]
    freq = base ** (torch.arange(0, dim, 2, dtype=torch.float64, device="cpu") / dim)
    table = torch.zeros(n_positions, dim, dtype=torch.float64, device="cpu")
    table[:, 0::2] = torch.sin(pos / freq)
    table[:, 1::2] = torch.cos(pos / freq[: dim // 2])
    return table.float()


class SinusoidalPositions(nn.Module):
    """Fixed (not trained) sinusoidal encodings, looked up by position id."""

    def __init__(self, n_positions: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("table", sinusoidal_table(n_positions, dim), persistent=False)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        return self.table[positions]


class LearnedPositions(nn.Module):
    """One trained vector per position (GPT-2, BERT): simply an embedding table."""

    def __init__(self, n_positions: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_positions, dim))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        return self.weight[positions]


class RotaryEmbedding(nn.Module):
    """RoPE: channel ``i`` and ``i + d/2`` of each head are rotated by ``pos * theta^(-2i/d)``.

    The cos/sin tables are precomputed once up to ``max_seq_len``; ``forward`` takes a
    ``(batch, seq)`` tensor of position ids, so left-padded batches rotate each row from its
    own start. The tables are looked up once per forward pass and shared by all layers.

    Rotating pair ``(x1, x2)`` gives ``(x1 cos - x2 sin, x2 cos + x1 sin)``: on HF's channel
    layout that is ``x * cos + [-x2, x1] * sin``. The minus sign is stored in the first half of
    the ``sin`` table, so ``[-x2, x1] * sin`` becomes ``[x2, x1] * signed_sin``: one ``roll``
    of the channels instead of a split, a negation and a concatenation per tensor.
    """

    def __init__(self, head_dim: int, max_seq_len: int, theta: float = 10000.0) -> None:
        super().__init__()
        # Tables are computed on the CPU even inside ``torch.device("meta")`` (fast loading).
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device="cpu").float() / head_dim))
        angles = torch.arange(max_seq_len, dtype=torch.float32, device="cpu")[:, None] * inv_freq[None, :]
        self.register_buffer("cos", torch.cat((angles.cos(), angles.cos()), dim=-1), persistent=False)
        self.register_buffer("sin", torch.cat((-angles.sin(), angles.sin()), dim=-1), persistent=False)

    def forward(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cos, signed sin)`` of shape ``(batch, 1, seq, head_dim)``, looked up once per forward pass."""
        return self.cos[positions].unsqueeze(1).to(dtype), self.sin[positions].unsqueeze(1).to(dtype)


def apply_rotary(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate ``q`` and ``k`` of shape ``(batch, heads, seq, head_dim)`` by ``RotaryEmbedding``'s ``(cos, signed sin)``."""
    half = q.shape[-1] // 2
    return q * cos + q.roll(half, -1) * sin, k * cos + k.roll(half, -1) * sin
