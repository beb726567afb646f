"""Cache of converted GGUF weights: dequantise once, then start in about a second.

Parsing a GGUF (``gguf.GGUFReader`` reads every metadata field, including ~50k vocabulary
strings) and dequantising it takes several seconds; reading a float32 safetensors file is
a memory map. The cache lives in ``<data home>/llm-cache/<sha256 of the GGUF>/`` and holds
``weights.safetensors`` plus ``meta.json`` (config and GGUF metadata), so a changed file
gets a new entry and a half-written one is never read (files are renamed into place).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from aipath.config import data_home
from aipath.llm.config import ModelConfig
from aipath.llm.gguf_loader import GGUFFile


def file_sha256(path: str | Path, chunk: int = 1 << 24) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cache_dir(gguf_path: str | Path, home: str | Path | None = None) -> Path:
    return data_home(home) / "llm-cache" / file_sha256(gguf_path)[:32]


def load_gguf_cached(
    gguf_path: str | Path, home: str | Path | None = None
) -> tuple[ModelConfig, dict[str, Any], dict[str, torch.Tensor]]:
    """``(config, GGUF metadata, float32 state dict)``, converting and caching on first use."""
    folder = cache_dir(gguf_path, home)
    weights, meta_file = folder / "weights.safetensors", folder / "meta.json"
    if weights.exists() and meta_file.exists():
        saved = json.loads(meta_file.read_text())
        return ModelConfig(**saved["config"]), saved["meta"], load_file(weights)
    gguf = GGUFFile.open(gguf_path)
    cfg, sd = gguf.config(), gguf.state_dict()
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(weights, lambda tmp: save_file(sd, tmp))
    payload = json.dumps({"config": asdict(cfg), "meta": gguf.meta}, default=_jsonable)
    _write_atomic(meta_file, lambda tmp: Path(tmp).write_text(payload))
    return cfg, gguf.meta, sd


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(str(tmp))
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    """NumPy scalars/arrays that ``GGUFReader.contents()`` may return."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
