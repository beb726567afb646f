"""The LLM stack written by hand: Transformer models, weight loading, byte-level BPE, generation.

Entry point for the rest of aipath::

    from aipath.llm import load_local_llm
    llm = load_local_llm(dtype="float32")  # SmolLM2-135M-Instruct, cached after the first start
    for delta in llm.chat_stream([{"role": "user", "content": "Hi"}], max_tokens=64): ...

Module map (one concept per file): ``config`` (one dataclass for every family),
``norms``/``mlp``/``positions``/``attention``/``flash`` (building blocks), ``kv_cache``,
``decoder`` (GPT-2/Llama), ``encoder`` (BERT), ``gguf_quants``/``gguf_loader``/``hf``/
``weight_cache``/``load``/``int8`` (weights), ``bpe``/``tokenizer_io``/``chat_template``
(text), ``sampling``/``streaming``/``generate``/``local`` (generation).
"""

from __future__ import annotations

import importlib
from typing import Any

# Exported lazily: the document-QA side imports ``aipath.llm.gguf_quants`` (e5's 4-bit
# weights), and importing this package must not pull in torch for it (2.8 s on a cold start).
_EXPORTS = {"LocalLLM": "local", "load_llm": "local", "load_local_llm": "local",
            "SamplingParams": "sampling"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'aipath.llm' has no attribute '{name}'")
    return getattr(importlib.import_module(f"aipath.llm.{_EXPORTS[name]}"), name)
