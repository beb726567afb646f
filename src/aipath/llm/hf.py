"""Hugging Face checkpoints: ``config.json`` -> ``ModelConfig`` and HF parameter names -> ours.

Works on any HF state dict (a ``transformers`` model's or one read from ``*.safetensors``).
Llama-family names map one to one; GPT-2 stores its linear layers transposed (``Conv1D``)
with q, k and v fused into ``c_attn``, so those are transposed and split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import torch

from aipath.llm.config import ModelConfig

LLAMA_TYPES = ("llama", "mistral", "qwen2", "qwen3")

_LLAMA_RULES = [
    (r"model\.embed_tokens\.", "embed."),
    (r"model\.norm\.", "norm."),
    (r"model\.layers\.(\d+)\.self_attn\.([qkvo])_proj\.", r"layers.\1.attn.\2."),
    (r"model\.layers\.(\d+)\.self_attn\.([qk])_norm\.", r"layers.\1.attn.\2_norm."),
    (r"model\.layers\.(\d+)\.mlp\.(gate|up|down)_proj\.", r"layers.\1.mlp.\2."),
    (r"model\.layers\.(\d+)\.input_layernorm\.", r"layers.\1.attn_norm."),
    (r"model\.layers\.(\d+)\.post_attention_layernorm\.", r"layers.\1.mlp_norm."),
    (r"lm_head\.", "lm_head."),
]
_GPT2_RULES = [
    (r"wte\.", "embed."),
    (r"wpe\.", "pos."),
    (r"ln_f\.", "norm."),
    (r"h\.(\d+)\.ln_1\.", r"layers.\1.attn_norm."),
    (r"h\.(\d+)\.ln_2\.", r"layers.\1.mlp_norm."),
    (r"h\.(\d+)\.attn\.c_attn\.", r"layers.\1.attn.qkv."),
    (r"h\.(\d+)\.attn\.c_proj\.", r"layers.\1.attn.o."),
    (r"h\.(\d+)\.mlp\.c_fc\.", r"layers.\1.mlp.up."),
    (r"h\.(\d+)\.mlp\.c_proj\.", r"layers.\1.mlp.down."),
]
_BERT_RULES = [
    (r"embeddings\.word_embeddings\.", "embed."),
    (r"embeddings\.position_embeddings\.", "pos."),
    (r"embeddings\.token_type_embeddings\.", "segment."),
    (r"embeddings\.LayerNorm\.", "embed_norm."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.query\.", r"layers.\1.attn.q."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.key\.", r"layers.\1.attn.k."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.value\.", r"layers.\1.attn.v."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"layers.\1.attn.o."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", r"layers.\1.attn_norm."),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.", r"layers.\1.mlp.up."),
    (r"encoder\.layer\.(\d+)\.output\.dense\.", r"layers.\1.mlp.down."),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.", r"layers.\1.mlp_norm."),
]


def config_from_hf(hf: Mapping) -> ModelConfig:
    """Our config from a ``config.json`` dict (Llama/Mistral/Qwen2/Qwen3, GPT-2, BERT)."""
    kind = hf["model_type"]
    if kind in LLAMA_TYPES:
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        if rope.get("rope_type", "default") != "default":
            raise ValueError(f"RoPE scaling {rope['rope_type']!r} is not implemented")
        return ModelConfig.llama(
            vocab_size=hf["vocab_size"], dim=hf["hidden_size"], n_layers=hf["num_hidden_layers"],
            n_heads=hf["num_attention_heads"], n_kv_heads=hf.get("num_key_value_heads"),
            head_dim=hf.get("head_dim"), hidden_dim=hf["intermediate_size"],
            max_seq_len=hf.get("max_position_embeddings", 2048), norm_eps=hf.get("rms_norm_eps", 1e-6),
            rope_theta=hf.get("rope_theta") or rope.get("rope_theta", 10000.0), tie_embeddings=hf.get("tie_word_embeddings", False),
            qkv_bias=kind == "qwen2" or hf.get("attention_bias", False), qk_norm=kind == "qwen3", family=kind,
        )  # fmt: skip
    if kind == "gpt2":
        return ModelConfig.gpt2(
            vocab_size=hf["vocab_size"], dim=hf["n_embd"], n_layers=hf["n_layer"], n_heads=hf["n_head"],
            hidden_dim=hf.get("n_inner") or 4 * hf["n_embd"], max_seq_len=hf["n_positions"],
            norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        )  # fmt: skip
    if kind == "bert":
        return ModelConfig.bert(
            vocab_size=hf["vocab_size"], dim=hf["hidden_size"], n_layers=hf["num_hidden_layers"],
            n_heads=hf["num_attention_heads"], hidden_dim=hf["intermediate_size"],
            max_seq_len=hf["max_position_embeddings"], type_vocab_size=hf["type_vocab_size"],
            norm_eps=hf.get("layer_norm_eps", 1e-12),
        )  # fmt: skip
    raise ValueError(f"unsupported model_type {kind!r}; supported: {', '.join(LLAMA_TYPES)}, gpt2, bert")


def convert_hf_state_dict(sd: Mapping[str, torch.Tensor], cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Rename (and for GPT-2 transpose/split) an HF state dict into ``Decoder``/``Encoder`` names."""
    out = {new: sd[name] for name, new in hf_to_ours(sd, cfg).items()}
    if cfg.family == "gpt2":
        out = _split_gpt2(out)
    if cfg.tie_embeddings:
        out.pop("lm_head.weight", None)
    return out


def hf_to_ours(names: Iterable[str], cfg: ModelConfig) -> dict[str, str]:
    """HF parameter name -> ours, for the names that have a counterpart (buffers, poolers dropped)."""
    rules = {"gpt2": _GPT2_RULES, "bert": _BERT_RULES}.get(cfg.family, _LLAMA_RULES)
    pairs = ((name, _rename(_strip_prefix(name), rules)) for name in names)
    return {name: new for name, new in pairs if new is not None}


def _strip_prefix(name: str) -> str:
    for prefix in ("transformer.", "bert."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _rename(name: str, rules: list[tuple[str, str]]) -> str | None:
    """The first rule matching the start of ``name``; None drops the tensor (buffers, pooler)."""
    for pattern, repl in rules:
        new, n = re.subn("^" + pattern, repl, name)
        if n:
            return new
    return None


def _split_gpt2(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """GPT-2's ``Conv1D`` weights are ``(in, out)``: transpose, and split fused ``qkv`` in three."""
    out: dict[str, torch.Tensor] = {}
    for name, t in sd.items():
        is_linear = re.search(r"\.(attn\.(qkv|o)|mlp\.(up|down))\.weight$", name)
        t = t.t().contiguous() if is_linear else t
        if ".attn.qkv." in name:
            for part, chunk in zip("qkv", t.chunk(3, dim=0)):
                out[name.replace(".qkv.", f".{part}.")] = chunk.contiguous()
        else:
            out[name] = t
    return out

