"""Read a GGUF file (llama.cpp's format) into our config and a float32 state dict.

GGUF is one file holding metadata (architecture, shapes, tokenizer, chat template) and
tensors, many of them quantised. Parsing uses the ``gguf`` package; dequantisation is ours
(``gguf_quants``). llama.cpp's converter *permutes* the rows of the Q and K projections of
Llama-architecture models so its RoPE can rotate adjacent channel pairs; our RoPE (like
``transformers``) rotates channel ``i`` with ``i + d/2``, so the permutation is undone here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gguf import GGUFReader

from aipath.llm.config import ModelConfig
from aipath.llm.gguf_quants import dequantize

_NAMES = [
    (r"token_embd\.weight", "embed.weight"),
    (r"output_norm\.weight", "norm.weight"),
    (r"output\.weight", "lm_head.weight"),
    (r"blk\.(\d+)\.attn_norm\.weight", r"layers.\1.attn_norm.weight"),
    (r"blk\.(\d+)\.ffn_norm\.weight", r"layers.\1.mlp_norm.weight"),
    (r"blk\.(\d+)\.attn_(q|k|v)\.(weight|bias)", r"layers.\1.attn.\2.\3"),
    (r"blk\.(\d+)\.attn_output\.weight", r"layers.\1.attn.o.weight"),
    (r"blk\.(\d+)\.attn_(q|k)_norm\.weight", r"layers.\1.attn.\2_norm.weight"),
    (r"blk\.(\d+)\.ffn_(gate|up|down)\.weight", r"layers.\1.mlp.\2.weight"),
]
PERMUTED_ARCHS = ("llama",)  # architectures whose converter permutes Q/K rows
SUPPORTED_ARCHS = ("llama", "qwen2", "qwen3")


@dataclass
class GGUFFile:
    """Metadata of a GGUF file and a lazy handle on its tensors."""

    path: Path
    meta: dict[str, Any]
    reader: GGUFReader

    @classmethod
    def open(cls, path: str | Path) -> "GGUFFile":
        reader = GGUFReader(str(path))
        meta = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
        return cls(Path(path), meta, reader)

    @property
    def arch(self) -> str:
        return self.meta["general.architecture"]

    def config(self) -> ModelConfig:
        return config_from_gguf(self.meta, {t.name for t in self.reader.tensors})

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor dequantised to float32 under our parameter names."""
        cfg = self.config()
        out = {}
        for t in self.reader.tensors:
            name = rename(t.name)
            shape = tuple(int(n) for n in reversed(t.shape))  # ggml lists dims fastest-first
            w = dequantize(np.asarray(t.data), t.tensor_type, shape)
            if self.arch in PERMUTED_ARCHS and name.endswith(("attn.q.weight", "attn.k.weight")):
                w = unpermute_qk(w, cfg.n_heads if ".q." in name else cfg.kv_heads)
            out[name] = torch.from_numpy(w)
        return out


def config_from_gguf(meta: dict[str, Any], tensor_names: set[str]) -> ModelConfig:
    """Our config from GGUF metadata; the head is tied when the file has no ``output.weight``."""
    arch = meta["general.architecture"]
    if arch not in SUPPORTED_ARCHS:
        raise ValueError(f"GGUF architecture {arch!r} is not supported (supported: {', '.join(SUPPORTED_ARCHS)})")

    def get(key: str, default: Any = None) -> Any:
        return meta.get(f"{arch}.{key}", default)

    dim, n_heads = get("embedding_length"), get("attention.head_count")
    return ModelConfig.llama(
        family=arch, vocab_size=get("vocab_size") or len(meta["tokenizer.ggml.tokens"]), dim=dim,
        n_layers=get("block_count"), n_heads=n_heads, n_kv_heads=get("attention.head_count_kv"),
        head_dim=get("attention.key_length"), hidden_dim=get("feed_forward_length"),
        max_seq_len=get("context_length", 2048), norm_eps=get("attention.layer_norm_rms_epsilon", 1e-6),
        rope_theta=get("rope.freq_base", 10000.0), qkv_bias=arch == "qwen2", qk_norm=arch == "qwen3",
        tie_embeddings="output.weight" not in tensor_names,
    )  # fmt: skip


def rename(gguf_name: str) -> str:
    for pattern, repl in _NAMES:
        new, n = re.subn(f"^{pattern}$", repl, gguf_name)
        if n:
            return new
    raise KeyError(f"unexpected GGUF tensor {gguf_name!r}")


def unpermute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Invert llama.cpp's ``permute``: per head, rows were interleaved ``(2, d/2) -> (d/2, 2)``."""
    rows = w.shape[0]
    return w.reshape(n_heads, rows // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
