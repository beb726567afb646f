"""One config dataclass for every model family in ``aipath.llm``.

GPT-2 and Llama differ in a handful of switches (position encoding, norm, MLP, biases),
so one dataclass with asserted invariants describes both, plus Qwen2-style (qkv bias) and
Qwen3-style (q/k norm) variants and the BERT-style encoder. ``family`` is only a label;
the switches decide the architecture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Positions = Literal["learned", "rope", "sinusoidal"]
Norm = Literal["layernorm", "rmsnorm"]
MLPKind = Literal["gelu", "gelu_tanh", "swiglu"]
AttnImpl = Literal["naive", "flash", "torch"]


@dataclass(frozen=True)
class ModelConfig:
    """Shapes and switches of a Transformer; see ``gpt2()`` and ``llama()`` for presets."""

    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    hidden_dim: int
    n_kv_heads: int | None = None  # None: same as n_heads (plain multi-head attention)
    head_dim: int | None = None  # None: dim // n_heads
    max_seq_len: int = 2048
    family: str = "llama"
    positions: Positions = "rope"
    norm: Norm = "rmsnorm"
    mlp: MLPKind = "swiglu"
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    bias: bool = False  # biases on every linear layer (GPT-2, BERT)
    qkv_bias: bool = False  # biases on q/k/v only (Qwen2)
    qk_norm: bool = False  # RMSNorm on each head of q and k (Qwen3)
    tie_embeddings: bool = True
    type_vocab_size: int = 0  # BERT segment embeddings; 0 for decoders
    attn_impl: AttnImpl = "naive"

    def __post_init__(self) -> None:
        assert min(self.vocab_size, self.dim, self.n_layers, self.n_heads, self.hidden_dim) > 0
        assert self.kv_heads > 0 and self.n_heads % self.kv_heads == 0, "GQA needs n_heads % n_kv_heads == 0"
        if self.head_dim is None:
            assert self.dim % self.n_heads == 0, "dim must split evenly into heads"
        if self.positions == "rope":
            assert self.head_size % 2 == 0, "rotary embeddings rotate pairs of channels"
        assert self.norm_eps > 0 and self.max_seq_len > 0

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def head_size(self) -> int:
        return self.head_dim or self.dim // self.n_heads

    def with_(self, **changes: object) -> "ModelConfig":
        """A copy with some fields changed (and invariants re-checked)."""
        return replace(self, **changes)

    @classmethod
    def gpt2(cls, **kw: object) -> "ModelConfig":
        """GPT-2: learned positions, LayerNorm, tanh-GELU MLP, biases everywhere, tied head."""
        base = dict(family="gpt2", positions="learned", norm="layernorm", mlp="gelu_tanh", bias=True, tie_embeddings=True)
        return cls(**{**base, **kw})  # type: ignore[arg-type]

    @classmethod
    def llama(cls, **kw: object) -> "ModelConfig":
        """Llama / SmolLM2 / Qwen: RoPE, RMSNorm, SwiGLU, no biases, GQA when n_kv_heads < n_heads."""
        base = dict(family="llama", positions="rope", norm="rmsnorm", mlp="swiglu", bias=False)
        return cls(**{**base, **kw})  # type: ignore[arg-type]

    @classmethod
    def bert(cls, **kw: object) -> "ModelConfig":
        """BERT encoder: learned positions + segment embeddings, post-LayerNorm, exact GELU."""
        base = dict(family="bert", positions="learned", norm="layernorm", mlp="gelu", bias=True, norm_eps=1e-12, type_vocab_size=2)
        return cls(**{**base, **kw})  # type: ignore[arg-type]
