"""Build a ready-to-run ``Decoder`` from a GGUF file or a Hugging Face folder, in a chosen dtype.

Models are constructed on the ``meta`` device (no random initialisation of 135M numbers
that would be overwritten at once) and the loaded tensors are *assigned*, not copied.
Models are set up for speed: q/k/v and gate/up fused (``fuse.py``), and loaded checkpoints
run PyTorch's fused attention kernel (``FAST_ATTENTION``, one call instead of about ten
small ones per block); the written-out attention stays the reference the tests compare with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file

from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.fuse import fuse_projections_
from aipath.llm.hf import config_from_hf, convert_hf_state_dict
from aipath.llm.int8 import quantize_int8_

WeightDtype = Literal["float32", "bfloat16", "int8"]
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "int8": torch.float32}
FAST_ATTENTION = "torch"  # what loaded checkpoints run; tests build models with the written-out one


def build_decoder(cfg: ModelConfig, sd: dict[str, torch.Tensor], dtype: WeightDtype = "float32") -> Decoder:
    """A ``Decoder`` holding ``sd`` (our names) in float32, bfloat16 or int8 weight-only.

    ``sd`` is consumed (emptied): once the model holds the only reference to a tensor, the
    float32 original of a converted weight and the parts of a fused one are freed as soon as
    they are replaced, so peak memory stays near one copy of the weights.
    """
    if dtype not in TORCH_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(TORCH_DTYPES)}, not {dtype!r}")
    weights = {k: sd.pop(k).to(TORCH_DTYPES[dtype]) for k in list(sd)}
    if cfg.tie_embeddings:
        weights["lm_head.weight"] = weights["embed.weight"]
    with torch.device("meta"):
        model = Decoder(cfg)
    model.load_state_dict(weights, strict=True, assign=True)
    del weights
    if cfg.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    model.eval().requires_grad_(False)
    return fuse_projections_(quantize_int8_(model) if dtype == "int8" else model)


def load_hf_folder(folder: str | Path, dtype: WeightDtype = "float32") -> Decoder:
    """A ``config.json`` + ``*.safetensors`` folder (sharded or not), as saved by ``transformers``."""
    folder = Path(folder)
    cfg = config_from_hf(json.loads((folder / "config.json").read_text()))
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors in {folder}")
    sd = {k: v for f in files for k, v in load_file(f).items()}
    return build_decoder(cfg.with_(attn_impl=FAST_ATTENTION), convert_hf_state_dict(sd, cfg), dtype)


def weight_bytes(model: torch.nn.Module) -> int:
    """Bytes of parameters and buffers, counting shared storage (tied, fused) once."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in [*model.parameters(), *model.buffers()]}
    return sum(storages.values())
