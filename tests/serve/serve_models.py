"""Tiny random-weight models for the serving tests, and the plain generate loop as the oracle.

A module with a unique name (not ``conftest``): several test folders have a conftest.py, so
``from conftest import`` would depend on which one Python found first.
"""

from __future__ import annotations

import torch

from aipath.llm.bpe import BPETokenizer
from aipath.llm.config import ModelConfig
from aipath.llm.decoder import Decoder
from aipath.llm.generate import generate_tokens
from aipath.llm.local import LocalLLM
from aipath.llm.sampling import SamplingParams as LoopParams
from aipath.llm.tokenizer_io import LoadedTokenizer

EOS = 256
CHAT_TEMPLATE = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}<assistant>"


def tiny_decoder(family: str = "llama", seed: int = 0) -> Decoder:
    """Weights drawn wide enough that greedy decoding wanders instead of repeating one token."""
    torch.manual_seed(seed)
    make = ModelConfig.llama if family == "llama" else ModelConfig.gpt2
    kv = {"n_kv_heads": 2} if family == "llama" else {}
    model = Decoder(make(vocab_size=EOS + 1, dim=64, n_layers=2, n_heads=4, hidden_dim=128, max_seq_len=512, **kv))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5 if p.ndim > 1 else 0.1)
    return model.eval()


VOCAB = {i: bytes([i]) if i < 128 else f"<{i}>".encode() for i in range(256)}


def byte_llm(model: Decoder) -> LocalLLM:
    """ASCII bytes are tokens 0-127, 128-255 print as ``<N>``: any output is valid UTF-8, so
    streamed text and token-level oracles agree exactly (random weights emit random ids)."""
    bpe = BPETokenizer(VOCAB, [], {"<eos>": EOS})
    return LocalLLM(model, LoadedTokenizer(bpe, None, "<eos>", CHAT_TEMPLATE))


def detokenize(tokens: list[int]) -> str:
    return b"".join(VOCAB[t] for t in tokens if t != EOS).decode()


def one_at_a_time(model: Decoder, prompt: list[int], max_tokens: int, stop_ids: frozenset[int] = frozenset()) -> list[int]:
    """The oracle: ``aipath.llm``'s plain (contiguous-cache) generate loop on one prompt."""
    return [step[0] for step in generate_tokens(model, [prompt], LoopParams(max_tokens=max_tokens), set(stop_ids))]
