"""Dense windows: how a chunk is cut for embedding, and how the knowledge base uses them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.rag import store
from aipath.rag.chunking import sentence_spans
from aipath.rag.embeddings import get_embedder
from aipath.rag.ingest import SourceFile, add_documents, reembed, remove_document
from aipath.rag.kb import KnowledgeBase, Settings
from aipath.rag.retriever import SearchConfig, search
from aipath.rag.tokens import default_tokenizer
from aipath.rag.windows import dense_windows

LONG = ("FAISS stores dense vectors for similarity search. It offers exact and approximate "
        "indexes. HNSW builds a graph of neighbours. IVF clusters the vectors first. Product "
        "quantisation compresses each vector into a few bytes. GPUs speed all of this up. "
        "Deleting vectors needs an id map. Inner product equals cosine on unit vectors.")


def _tokens(text: str) -> int:
    return len(default_tokenizer().offsets(text))


def test_windows_are_whole_sentences_in_order_within_the_budget() -> None:
    windows = dense_windows("Guide > Vector search", LONG, 24)
    assert len(windows) > 2
    bodies = [w.split("\n", 1)[1] for w in windows]
    assert all(w.startswith("Vector search\n") for w in windows)  # the innermost heading leads
    assert " ".join(bodies) == LONG  # every sentence once, in order
    sentences = [LONG[a:b] for a, b in sentence_spans(LONG, 0, len(LONG))]
    for body in bodies:
        assert _tokens(body) <= 24 or body in sentences  # only a lone sentence may exceed it
        assert any(body.startswith(s) for s in sentences) and any(body.endswith(s) for s in sentences)


def test_chinese_windows_split_at_chinese_sentence_ends() -> None:
    text = "向量数据库用于存储和检索嵌入向量。Milvus 是一个开源的分布式向量数据库。它支持十亿级向量的相似度检索！"
    windows = dense_windows("", text, 20)
    assert [w for w in windows] == ["向量数据库用于存储和检索嵌入向量。", "Milvus 是一个开源的分布式向量数据库。",
                                    "它支持十亿级向量的相似度检索！"]


def test_zero_budget_embeds_the_whole_chunk() -> None:
    assert dense_windows("A > B", "Some text.", 0) == [store.index_text("A > B", "Some text.")]


def test_a_chunk_scores_by_its_best_window_and_its_windows_go_with_it(home: Path) -> None:
    kb = KnowledgeBase.create(home, "w", Settings(embedder="minilm", dense_window_tokens=24))
    add_documents(kb, [SourceFile("faiss.txt", LONG.encode()),
                       SourceFile("bm25.txt", b"BM25 ranks documents by term frequency.")])
    dense, _ = kb.indexes()
    windows = dense_windows("", LONG, 24)
    assert kb.chunk_count() == 2 and len(dense) == len(windows) + 1
    query = "How do I compress vectors into a few bytes?"
    hit = search(kb, query, SearchConfig(mode="dense", top_k=1)).hits[0]
    embedder = get_embedder("minilm")
    expected = float(np.max(embedder.embed(windows) @ embedder.embed([query], kind="query")[0]))
    assert hit.chunk.text == LONG and abs(hit.dense - expected) < 1e-5

    assert reembed(kb, "minilm") == 2
    dense, _ = kb.indexes()
    assert len(dense) == len(windows) + 1
    remove_document(kb, "faiss.txt")
    dense, _ = kb.indexes()
    assert len(dense) == 1 and search(kb, query, SearchConfig(mode="dense", top_k=5)).hits[0].chunk.text.startswith("BM25")
