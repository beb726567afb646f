"""Load a ``BPETokenizer`` from GGUF metadata or a Hugging Face ``tokenizer.json``.

Both formats store byte-level BPE tokens as *printable strings*: GPT-2 maps each of the
256 bytes to a visible Unicode character (space -> ``Ġ``, newline -> ``Ċ``) so that
vocabularies and merges can live in JSON. ``byte_decoder`` undoes that mapping.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import regex

from aipath.llm.bpe import DIGITS_PATTERN, GPT2_PATTERN, BPETokenizer

# tokenizer.ggml.pre -> pre-tokenisation regexes, applied in order (as llama.cpp does)
GGUF_PRE = {
    "gpt2": [GPT2_PATTERN],
    "gpt-2": [GPT2_PATTERN],
    "default": [GPT2_PATTERN],
    "smollm": [DIGITS_PATTERN, GPT2_PATTERN],
    "starcoder": [DIGITS_PATTERN, GPT2_PATTERN],
    "refact": [DIGITS_PATTERN, GPT2_PATTERN],
}
GGUF_SPECIAL_TYPES = (3, 4)  # CONTROL, USER_DEFINED: matched as whole strings before BPE


@dataclass
class LoadedTokenizer:
    """The tokenizer plus what chat formatting needs from the same file."""

    tokenizer: BPETokenizer
    bos_token: str | None
    eos_token: str | None
    chat_template: str | None
    normalize: str | None = None  # e.g. "NFC", applied to text before encoding

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        if self.normalize:
            text = unicodedata.normalize(self.normalize, text)
        return self.tokenizer.encode(text, allow_special)


@cache
def byte_decoder() -> dict[str, int]:
    """GPT-2's printable character -> byte table (the inverse of ``bytes_to_unicode``)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def _to_bytes(token: str) -> bytes:
    table = byte_decoder()
    return bytes(table[c] for c in token)


def _split_merge(merge: str | list[str]) -> tuple[bytes, bytes]:
    left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
    return _to_bytes(left), _to_bytes(right)


def from_gguf_meta(meta: dict[str, Any]) -> LoadedTokenizer:
    """From the ``tokenizer.ggml.*`` fields of a GGUF file (``model == "gpt2"`` only)."""
    if meta.get("tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"only byte-level BPE GGUF tokenizers are supported, not {meta.get('tokenizer.ggml.model')!r}")
    pre = meta.get("tokenizer.ggml.pre", "default")
    if pre not in GGUF_PRE:
        raise ValueError(f"unknown GGUF pre-tokenizer {pre!r}; known: {', '.join(GGUF_PRE)}")
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    special = {t: i for i, (t, kind) in enumerate(zip(tokens, types)) if kind in GGUF_SPECIAL_TYPES}
    vocab = {i: _to_bytes(t) for i, (t, kind) in enumerate(zip(tokens, types)) if kind not in GGUF_SPECIAL_TYPES}
    merges = [_split_merge(m) for m in meta["tokenizer.ggml.merges"]]

    def token(key: str) -> str | None:
        i = meta.get(f"tokenizer.ggml.{key}_token_id")
        return None if i is None else tokens[i]

    tok = BPETokenizer(vocab, merges, special, GGUF_PRE[pre])
    return LoadedTokenizer(tok, token("bos"), token("eos"), meta.get("tokenizer.chat_template"))


def from_tokenizer_json(folder: str | Path) -> LoadedTokenizer:
    """From ``tokenizer.json`` (+ ``tokenizer_config.json`` for the chat template) in ``folder``."""
    folder = Path(folder)
    spec = json.loads((folder / "tokenizer.json").read_text())
    model = spec["model"]
    if model["type"] != "BPE":
        raise ValueError(f"only BPE tokenizers are supported, not {model['type']}")
    special = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
    vocab = {i: _to_bytes(t) for t, i in model["vocab"].items() if t not in special}
    merges = [_split_merge(m) for m in model["merges"]]
    tok = BPETokenizer(vocab, merges, special, _patterns(spec.get("pre_tokenizer")))
    cfg_file = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_file.read_text()) if cfg_file.exists() else {}
    return LoadedTokenizer(tok, _content(cfg.get("bos_token")), _content(cfg.get("eos_token")), cfg.get("chat_template"), _normalizer(spec.get("normalizer")))


def _patterns(pre: dict | None) -> list[str]:
    """Regexes equivalent to a ``tokenizers`` pre-tokenizer spec."""
    if pre is None:
        return []
    kind = pre["type"]
    if kind == "Sequence":
        return [p for sub in pre["pretokenizers"] for p in _patterns(sub)]
    if kind == "ByteLevel":
        assert not pre.get("add_prefix_space"), "ByteLevel(add_prefix_space=True) is not supported"
        return [GPT2_PATTERN] if pre.get("use_regex", True) else []
    if kind == "Digits":
        return [DIGITS_PATTERN if pre.get("individual_digits") else r"\p{N}+"]
    if kind == "Split" and pre.get("behavior") == "Isolated":
        pattern = pre["pattern"]
        return [pattern["Regex"] if "Regex" in pattern else regex.escape(pattern["String"])]
    raise ValueError(f"unsupported pre-tokenizer {kind} {pre.get('behavior', '')}".strip())


def _normalizer(spec: dict | None) -> str | None:
    if spec is None:
        return None
    if spec["type"] in ("NFC", "NFKC", "NFD", "NFKD"):
        return spec["type"]
    raise ValueError(f"unsupported normalizer {spec['type']}")


def _content(token: str | dict | None) -> str | None:
    return token["content"] if isinstance(token, dict) else token
