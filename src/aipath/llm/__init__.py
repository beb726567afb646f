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

from aipath.llm.local import LocalLLM, load_llm, load_local_llm
from aipath.llm.sampling import SamplingParams

__all__ = ["LocalLLM", "SamplingParams", "load_llm", "load_local_llm"]
