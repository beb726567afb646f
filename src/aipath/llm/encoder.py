"""A BERT-style encoder: the other half of the "encoder vs decoder" lesson.

Same attention and MLP as the decoder, three differences: attention is bidirectional (only
padding is masked, every token sees the whole sentence), the input adds segment
("token type") embeddings, and the norms come *after* each residual add (post-norm, as in
the original Transformer and BERT). The output is one contextual vector per token, for
classification or embeddings, not next-token logits.
"""

from __future__ import annotations

import torch
from torch import nn

from aipath.llm.attention import Attention, build_mask
from aipath.llm.config import ModelConfig
from aipath.llm.mlp import make_mlp
from aipath.llm.norms import LayerNorm
from aipath.llm.positions import LearnedPositions


class EncoderBlock(nn.Module):
    """Post-norm block: ``x = norm(x + attn(x))``, ``x = norm(x + mlp(x))``."""

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.attn = Attention(cfg, layer)  # bidirectional: the mask it gets is padding only
        self.attn_norm = LayerNorm(cfg.dim, cfg.norm_eps)
        self.mlp = make_mlp(cfg.mlp, cfg.dim, cfg.hidden_dim, cfg.bias)
        self.mlp_norm = LayerNorm(cfg.dim, cfg.norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = self.attn_norm(x + self.attn(x, mask))
        return self.mlp_norm(x + self.mlp(x))


class Encoder(nn.Module):
    """BERT-style encoder returning the last hidden states ``(B, T, dim)``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        assert cfg.positions == "learned" and cfg.type_vocab_size > 0, "the encoder is BERT-shaped"
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.pos = LearnedPositions(cfg.max_seq_len, cfg.dim)
        self.segment = nn.Embedding(cfg.type_vocab_size, cfg.dim)
        self.embed_norm = LayerNorm(cfg.dim, cfg.norm_eps)
        self.layers = nn.ModuleList(EncoderBlock(cfg, i) for i in range(cfg.n_layers))

    def forward(self, tokens: torch.Tensor, key_valid: torch.Tensor | None = None, segments: torch.Tensor | None = None) -> torch.Tensor:
        t = tokens.shape[1]
        positions = torch.arange(t)[None, :]
        segments = torch.zeros_like(tokens) if segments is None else segments
        x = self.embed_norm(self.embed(tokens) + self.pos(positions) + self.segment(segments))
        mask = build_mask(t, 0, key_valid, causal=False)
        for layer in self.layers:
            x = layer(x, mask)
        return x
