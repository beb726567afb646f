"""The decoder-only Transformer (GPT-2 and Llama families) built from a ``ModelConfig``.

Pre-norm residual blocks: ``x = x + attn(norm(x))``, ``x = x + mlp(norm(x))``. Tokens go
in, next-token logits come out. With a ``KVCache`` the same ``forward`` serves both the
prefill (many tokens) and decoding (one token per row at a time). Decoding steps of int8
Llama-family models run each block as one C++ call (``fused_decode``), and the final RMSNorm
too (``row_ops_kernel``); ``fused_decode =
False`` keeps them on the modules (the reference the tests compare with).
"""

from __future__ import annotations

import torch
from torch import nn

from aipath.llm.attention import Attention, build_mask
from aipath.llm.config import ModelConfig
from aipath.llm.fused_decode import FusedDecode, supports, usable_cache
from aipath.llm.kv_cache import KVCache
from aipath.llm.mlp import make_mlp
from aipath.llm.norms import make_norm
from aipath.llm.positions import LearnedPositions, RotaryEmbedding, SinusoidalPositions
from aipath.llm.row_ops_kernel import add_rms_norm


class DecoderBlock(nn.Module):
    """One pre-norm residual block: attention then MLP, each behind its own norm."""

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.attn_norm = make_norm(cfg.norm, cfg.dim, cfg.norm_eps, cfg.bias)
        self.attn = Attention(cfg, layer)
        self.mlp_norm = make_norm(cfg.norm, cfg.dim, cfg.norm_eps, cfg.bias)
        self.mlp = make_mlp(cfg.mlp, cfg.dim, cfg.hidden_dim, cfg.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, rope: tuple[torch.Tensor, torch.Tensor] | None, cache: KVCache | None) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), mask, rope, cache)
        return x + self.mlp(self.mlp_norm(x))


def default_positions(key_valid: torch.Tensor | None, start: int, t: int) -> torch.Tensor:
    """Position ids of the ``t`` new tokens: counted from each row's first real token."""
    if key_valid is None:
        return torch.arange(start, start + t)[None, :]
    return (key_valid.long().cumsum(-1) - 1).clamp(min=0)[:, start : start + t]


class Decoder(nn.Module):
    """GPT-2 / Llama style language model."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = _embedding(cfg.vocab_size, cfg.dim)
        self.pos = _absolute_positions(cfg)
        self.rope = RotaryEmbedding(cfg.head_size, cfg.max_seq_len, cfg.rope_theta) if cfg.positions == "rope" else None
        self.layers = nn.ModuleList(DecoderBlock(cfg, i) for i in range(cfg.n_layers))
        self.norm = make_norm(cfg.norm, cfg.dim, cfg.norm_eps, cfg.bias)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed.weight
        self.fused_decode = True
        self._plan: FusedDecode | None = None

    def forward(
        self,
        tokens: torch.Tensor,
        cache: KVCache | None = None,
        key_valid: torch.Tensor | None = None,
        last_only: bool = False,
    ) -> torch.Tensor:
        """Logits ``(B, T, vocab)`` (``(B, 1, vocab)`` with ``last_only``).

        ``key_valid`` (B, cached + T) marks real tokens (False = left padding); positions are
        counted per row from its first real token, as ``transformers`` does in ``generate``.
        """
        t = tokens.shape[1]
        start = cache.length if cache is not None else 0
        positions = default_positions(key_valid, start, t)
        if t == 1 and self.fused_decode and not torch.is_grad_enabled() and usable_cache(cache, tokens.shape[0]):
            plan = self._decode_plan()
            if plan is not None:
                x = self.embed(tokens)[:, 0].contiguous()
                plan.run(x, positions[:, 0].expand(x.shape[0]), self.rope, cache, key_valid)
                cache.advance(1)
                h = add_rms_norm(x, None, self.norm.weight, self.norm.eps)  # the final RMSNorm in C++, as the blocks'
                return self.lm_head(h[:, None])
        mask = build_mask(t, start, key_valid)
        x = self.embed(tokens)
        if self.pos is not None:
            x = x + self.pos(positions)
        rope = self.rope(positions, x.dtype) if self.rope is not None else None
        for layer in self.layers:
            x = layer(x, mask, rope, cache)
        if cache is not None:
            cache.advance(t)
        x = self.norm(x[:, -1:] if last_only else x)
        return self.lm_head(x)

    def _decode_plan(self) -> FusedDecode | None:
        """The fused decode step for this model as it is now, or None where it does not fit."""
        if self._plan is None or not self._plan.matches(self):
            self._plan = FusedDecode(self) if supports(self) else None
        return self._plan

    def new_cache(self, batch: int, max_len: int | None = None) -> KVCache:
        """An empty KV cache for ``batch`` rows in this model's dtype."""
        cfg = self.cfg
        dtype = self.norm.weight.dtype
        return KVCache(cfg.n_layers, batch, cfg.kv_heads, max_len or cfg.max_seq_len, cfg.head_size, dtype)


def _embedding(n: int, dim: int) -> nn.Embedding:
    """``nn.Embedding`` that skips its random init on the meta device (fast loading).

    On ``meta``, ``normal_`` goes through torch's reference implementations and imports the
    compiler stack: seconds of start-up for numbers that are overwritten at once.
    """
    emb = nn.Embedding(n, dim, _weight=torch.empty(n, dim))
    if not emb.weight.is_meta:
        nn.init.normal_(emb.weight)
    return emb


def _absolute_positions(cfg: ModelConfig) -> nn.Module | None:
    if cfg.positions == "learned":
        return LearnedPositions(cfg.max_seq_len, cfg.dim)
    if cfg.positions == "sinusoidal":
        return SinusoidalPositions(cfg.max_seq_len, cfg.dim)
    return None
