"""BM25 against a NumPy transcription of Lucene's formula; FAISS against brute force;
fusion against hand computation; the analyzer on Chinese and English."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from aipath.rag.bm25_index import BM25Index
from aipath.rag.dense_index import DenseIndex
from aipath.rag.fusion import minmax, rrf, zscore
from aipath.rag.text_analysis import analyze

DOCS = [
    "FAISS performs vector similarity search on dense vectors",
    "BM25 ranks documents with term frequency and inverse document frequency",
    "向量数据库 Milvus 支持 分布式 向量 检索",
    "The retriever fuses BM25 and dense vector scores",
    "jieba 是 中文 分词 工具",
]


def lucene_bm25(corpus: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.4) -> np.ndarray:
    n = len(corpus)
    avgdl = sum(len(d) for d in corpus) / n
    scores = np.zeros(n)
    for term in set(query):
        df = sum(term in d for d in corpus)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, doc in enumerate(corpus):
            tf = doc.count(term)
            # Lucene >= 8 drops the constant (k1 + 1) factor from the numerator.
            scores[i] += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
    return scores


@pytest.mark.parametrize("query", ["vector search", "document frequency BM25", "向量检索", "中文分词",
                                   "nothing matches here"])
def test_bm25_matches_lucene_formula(query: str) -> None:
    tokens = [analyze(d) for d in DOCS]
    index = BM25Index().build(list(range(10, 15)), tokens)
    expected = lucene_bm25(tokens, analyze(query))
    np.testing.assert_allclose(index.scores(query), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("query", ["vector search", "dense vector scores of the retriever",
                                   "向量检索", "分布式向量数据库怎么检索", "how do I search my photo album"])
def test_bm25_coverage_is_the_share_of_query_idf_a_chunk_holds(query: str, tmp_path) -> None:
    """The oracle: Lucene's idf from document frequencies counted by hand; a term no
    document has counts with df = 0."""
    tokens = [analyze(d) for d in DOCS]
    index = BM25Index().build(list(range(10, 15)), tokens)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    terms = set(analyze(query, parts=False))  # a Chinese word once, not with its parts
    idf = {t: math.log(1 + (5 - sum(t in d for d in tokens) + 0.5) / (sum(t in d for d in tokens) + 0.5))
           for t in terms}
    for position, chunk_id in enumerate(range(10, 15)):
        expected = sum(idf[t] for t in terms if t in tokens[position]) / sum(idf.values())
        assert index.coverage(query, chunk_id) == pytest.approx(expected)
        assert loaded.coverage(query, chunk_id) == pytest.approx(expected)
    assert index.coverage(query, 99) == 0.0  # not indexed


def test_bm25_chinese_query_scores_positive_and_ranks_right(tmp_path) -> None:
    index = BM25Index().build([1, 2, 3, 4, 5], [analyze(d) for d in DOCS])
    hits = index.search("如何做中文分词？", 3)
    assert hits[0][0] == 5 and hits[0][1] > 0
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.search("如何做中文分词？", 3) == hits


def test_chinese_words_count_once_without_their_parts() -> None:
    assert analyze("文件夹", parts=False) == ["文件夹"]
    assert set(analyze("文件夹")) >= {"文件", "文件夹"}
    assert analyze("copy folders 递归复制文件夹", parts=False) == ["copi", "folder", "递归", "复制", "文件夹"]


def test_analyzer_segments_chinese_and_stems_english() -> None:
    terms = analyze("如何构建向量数据库？ Building indexes with read_csv")
    assert {"构建", "向量", "数据库"} <= set(terms)
    assert "如何" not in terms  # question words are stop words
    assert {"build", "index", "read_csv", "read", "csv"} <= set(terms)
    assert analyze("ＦＡＩＳＳ") == analyze("faiss")  # full-width folded


def _random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_dense_index_matches_brute_force_and_deletes(kind: str, tmp_path) -> None:
    vectors = _random_unit(300, 16, 0)
    ids = list(range(1000, 1300))
    index = DenseIndex(16, kind)
    index.add(ids, vectors)
    query = _random_unit(1, 16, 1)[0]
    brute = np.argsort(-(vectors @ query))[:10]
    got = index.search(query, 10)
    assert [i for i, _ in got] == [ids[j] for j in brute]
    np.testing.assert_allclose([s for _, s in got], (vectors @ query)[brute], rtol=1e-5)
    drop = [ids[j] for j in brute[:3]]
    index.remove(drop)
    assert len(index) == 297 and not set(drop) & {i for i, _ in index.search(query, 20)}
    index.save(tmp_path / "x.faiss")
    again = DenseIndex.load(tmp_path / "x.faiss", kind)
    assert again.search(query, 5) == index.search(query, 5)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_several_vectors_per_id_score_by_the_best_and_delete_together(kind: str, tmp_path) -> None:
    """Dense windows: ids repeat; a search equals brute force over each id's best vector."""
    vectors = _random_unit(400, 16, 3)
    owners = np.random.default_rng(4).integers(0, 90, 400)  # 90 chunks, 0-12 windows each
    index = DenseIndex(16, kind)
    index.add(owners.tolist(), vectors)
    query = _random_unit(1, 16, 5)[0]
    best: dict[int, float] = {}
    for owner, score in zip(owners.tolist(), (vectors @ query).tolist()):
        best[owner] = max(best.get(owner, -2.0), score)
    brute = sorted(best.items(), key=lambda kv: -kv[1])
    for k in (1, 10, 40, 200):
        got = index.search(query, k)
        assert [i for i, _ in got] == [i for i, _ in brute[:k]]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in brute[:k]], rtol=1e-5)
    drop = [i for i, _ in brute[:5]]
    index.remove(drop)
    assert len(index) == int((~np.isin(owners, drop)).sum())
    assert not set(drop) & {i for i, _ in index.search(query, 100)}
    assert [i for i, _ in index.search(query, 3)] == [i for i, _ in brute[5:8]]
    index.save(tmp_path / "w.faiss")
    assert DenseIndex.load(tmp_path / "w.faiss", kind).search(query, 7) == index.search(query, 7)


def test_rrf_and_weighted_fusion_by_hand() -> None:
    a = [(1, 10.0), (2, 5.0), (3, 1.0)]
    b = [(3, 0.9), (1, 0.45)]
    fused = dict(rrf([a, b], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)
    m = dict(minmax([a, b], [0.3, 0.7]))
    assert m[1] == pytest.approx(0.3 * 1.0 + 0.7 * 0.0, abs=1e-6)
    assert m[3] == pytest.approx(0.3 * 0.0 + 0.7 * 1.0, abs=1e-6)
    assert m[2] == pytest.approx(0.3 * 4 / 9, abs=1e-6)
    z = dict(zscore([a, b], [0.3, 0.7]))
    sa = np.array([10.0, 5.0, 1.0])
    za = np.maximum((sa - sa.mean()) / sa.std(), 0.0)  # listed never below missing (0)
    assert za[2] == 0.0
    assert z[1] == pytest.approx(0.3 * za[0] + 0.7 * 0.0, abs=1e-6)
    assert z[3] == pytest.approx(0.3 * za[2] + 0.7 * 1.0, abs=1e-6)
    assert z[2] == pytest.approx(0.3 * za[1], abs=1e-6)
    assert zscore([[], b], [0.5, 0.5])[0][0] == 3


def test_flat_search_equals_faiss_own_search_after_deletes() -> None:
    """The BLAS fast path reads FAISS's storage directly; it must agree with FAISS."""
    vectors = _random_unit(500, 32, 2)
    index = DenseIndex(32, "flat")
    index.add(list(range(500)), vectors)
    index.remove(list(range(0, 500, 7)))  # compacts FAISS's storage and id map
    for seed in range(3):
        query = _random_unit(1, 32, 10 + seed)
        scores, ids = index._index.search(query, 25)
        got = index.search(query[0], 25)
        assert [i for i, _ in got] == ids[0].tolist()
        np.testing.assert_allclose([s for _, s in got], scores[0], rtol=1e-5, atol=1e-6)


def test_flat_two_pass_search_equals_exact_float32_beyond_the_shortlist(monkeypatch) -> None:
    """With more rows than the shortlist, the 8-bit first pass (in shards) must still
    return the exact float32 ranking and scores; clustered vectors make many near-ties."""
    import gc

    from aipath.rag import dense_index
    from aipath.rag.dense_index import SHORTLIST_MARGIN

    monkeypatch.setattr(dense_index, "COARSE_SCAN_MIN_ROWS", 1000)  # 6000 rows take the 8-bit pass
    monkeypatch.setattr(dense_index, "COARSE_SHARD_ROWS", 2000)
    monkeypatch.setattr(dense_index.os, "cpu_count", lambda: 3)  # three shards on any machine

    centres = _random_unit(20, 48, 6)
    noise = 0.05 * np.random.default_rng(7).standard_normal((6000, 48)).astype(np.float32)
    vectors = centres[np.arange(6000) % 20] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert len(vectors) > 4 * (100 + SHORTLIST_MARGIN)
    index = DenseIndex(48, "flat")
    index.add(list(range(6000)), vectors)
    assert len(index._flat_arrays()[2].shards) == 3
    gc.collect()  # the shards must outlive the Python objects that built them
    for seed in range(5):
        query = _random_unit(1, 48, 20 + seed)[0]
        exact = vectors @ query
        for k in (10, 100):
            brute = np.argsort(-exact, kind="stable")[:k]
            got = index.search(query, k)
            assert [i for i, _ in got] == brute.tolist()
            np.testing.assert_allclose([s for _, s in got], exact[brute], rtol=1e-5, atol=1e-6)
    # Searches from several threads at once (the API's workers) see the same results.
    queries = _random_unit(16, 48, 40)
    alone = [index.search(q, 20) for q in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda q: index.search(q, 20), queries)) == alone
    index.add([6000], centres[:1])  # the 8-bit copy follows every change
    assert index.search(centres[0], 1)[0][0] == 6000
    index.remove([6000])
    assert 6000 not in {i for i, _ in index.search(centres[0], 50)}
