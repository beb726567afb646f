"""Search a knowledge base: BM25, dense, or both fused; optional reranking.

Each retriever contributes its top ``depth`` candidates; fusion (``aipath.rag.fusion``)
merges them. Every hit keeps both raw scores, so callers can judge relevance themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from aipath.rag import fusion, store
from aipath.rag.copies import COPY_SHARE, distinct
from aipath.rag.embeddings import ENGLISH_ONLY, needs_multilingual
from aipath.rag.glossary import chinese_glosses, english_glosses, english_rendering, translations
from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError
from aipath.rag.release_notes import asks_about_changes, is_release_notes
from aipath.rag.rerank import Reranker
from aipath.rag.script import IDEOGRAPH, language_of
from aipath.rag.text_analysis import analyze
from aipath.rag.vector_store import VectorIndex

MODES = ("hybrid", "bm25", "dense")


@dataclass
class SearchConfig:
    mode: str = "hybrid"
    top_k: int = 5
    depth: int = 50  # candidates taken from each retriever before fusion
    fusion: str = "zscore"
    bm25_weight: float = 0.5  # the dense weight is 1 - bm25_weight
    # BM25's weight shrinks in proportion when its best chunk holds less than this share of
    # the query's idf: the question is worded differently from the documents, and BM25 has
    # matched its incidental words. 0 turns it off.
    full_coverage: float = 0.5
    rrf_k: int = 60
    # A hit whose text repeats this share of a better-ranked hit's (the same passage in two
    # releases of a manual) is left out for the next one; 1 keeps every hit.
    copy_share: float = COPY_SHARE
    # Release notes (What's New, changelog, NEWS, RelNotes) lose this much of a hybrid z-score
    # (standard deviations) unless the question asks about changes or versions
    # (``aipath.rag.release_notes``); 0 turns it off. BM25 or dense alone rank as they are.
    release_notes_step: float = 2.0

    def __post_init__(self) -> None:
        assert self.mode in MODES, f"mode must be one of {MODES}"
        assert self.fusion in fusion.FUSIONS, f"fusion must be one of {fusion.FUSIONS}"
        assert self.top_k > 0 and self.depth >= self.top_k
        assert 0.0 <= self.bm25_weight <= 1.0
        assert 0.0 <= self.full_coverage <= 1.0
        assert 0.0 < self.copy_share <= 1.0
        assert self.release_notes_step >= 0.0


@dataclass
class Hit:
    chunk: store.ChunkRow
    score: float
    bm25: float = 0.0
    dense: float = 0.0
    rerank: float | None = None


@dataclass
class SearchResult:
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    query_vector: np.ndarray | None = None  # the query's embedding, when a dense search ran
    warnings: list[str] = field(default_factory=list)  # what limits this search, and the fix
    keywords: str = ""  # what BM25 is asked (``bm25_query``), whatever the mode
    bm25_weight: float | None = None  # BM25's share in a hybrid search (``bm25_weight``)
    coverage: float | None = None  # the share of the query's idf BM25's best chunk holds


def language_warning(kb: KnowledgeBase, query: str) -> str | None:
    """A question the dense side cannot read: an English-only embedder and a Chinese question.

    The search still runs on an English rendering of the question (``query_vector``) and its
    keywords with their glosses (``bm25_query``). Chinese questions over the Python docs and
    Git's manual score hybrid nDCG@10 0.67 / 0.66 / 0.38 that way with MiniLM, 0.74 / 0.71 /
    0.27 with e5, and 0.86 / 0.87 / 0.53 asked in English (devsets/RESULTS.md, 2026-12-07).
    """
    spec = kb.meta["embedder"]
    if spec not in ENGLISH_ONLY or not needs_multilingual(query):
        return None
    how = ("searched through a word-by-word English rendering of it" if rendered_in_english(kb, query)
           else "matched mostly by its keywords")
    return (f"'{kb.name}' embeds with {kb.meta.get('embedder_name') or spec}, which reads English "
            f"only, so this question is {how}. Asked in English, it would find more; or run "
            f"`aipath kb reembed {kb.name} e5` to switch to the multilingual model, which also "
            f"reads the question itself.")


def search(kb: KnowledgeBase, query: str, config: SearchConfig | None = None,
           reranker: Reranker | None = None) -> SearchResult:
    config = config or SearchConfig()
    started = time.perf_counter()
    dense_index, bm25_index = kb.indexes()
    keywords = bm25_query(kb, query)
    bm25_hits = bm25_index.search(keywords, config.depth) if config.mode != "dense" else []
    dense_hits, vector = [], None
    if config.mode != "bm25" and dense_index is not None:
        vectors = query_vectors(kb, query)
        vector = _standing_vector(vectors)
        if len(vector) != dense_index.dim:
            raise KnowledgeBaseError(
                f"the embedder of '{kb.name}' now returns {len(vector)}-d vectors but the index "
                f"holds {dense_index.dim}-d ones; run `aipath kb reembed {kb.name} "
                f"{kb.meta['embedder']}` (or search with --mode bm25)")
        dense_hits = _dense_search(kb, dense_index, vectors, config.depth)
    # Measured on questions searched as asked; glosses of another language change what a
    # low share means (the question's own words are absent by nature), so they keep it at 1.
    coverage = (bm25_index.coverage(keywords, bm25_hits[0][0])
                if bm25_hits and dense_hits and keywords == query else None)
    weight = bm25_weight(config, 1.0 if coverage is None else coverage)
    ranked = _fuse(config, bm25_hits, dense_hits, weight)
    bm25_of, dense_of = dict(bm25_hits), dict(dense_hits)
    timings = {"retrieve": time.perf_counter() - started}
    keep = config.depth if reranker else config.top_k
    hits = _hits(kb, query, config, ranked, bm25_of, dense_of, keep)
    if reranker and hits:
        started = time.perf_counter()
        scores = reranker.rerank(query, [h.chunk.text for h in hits])
        for hit, score in zip(hits, scores):
            hit.rerank = score
        hits.sort(key=lambda h: -(h.rerank or 0.0))
        timings["rerank"] = time.perf_counter() - started
    warning = language_warning(kb, query) if config.mode != "bm25" else None
    return SearchResult(hits[:config.top_k], timings, vector, [warning] if warning else [], keywords,
                        weight if config.mode == "hybrid" else None, coverage)


def _hits(kb: KnowledgeBase, query: str, config: SearchConfig, ranked: fusion.Ranking,
          bm25_of: dict[int, float], dense_of: dict[int, float], keep: int) -> list[Hit]:
    """The first ``keep`` chunks of the ranking, release notes stepped back and copies of a
    better-ranked hit left out."""
    rows = store.get_chunks(kb.db, [cid for cid, _ in ranked])
    hits = [Hit(rows[cid], score, bm25_of.get(cid, 0.0), dense_of.get(cid, 0.0))
            for cid, score in ranked if cid in rows]
    if (config.mode == "hybrid" and config.fusion == "zscore" and config.release_notes_step
            and not asks_about_changes(query)):
        for hit in hits:
            hit.score -= config.release_notes_step * is_release_notes(hit.chunk.source)
        hits.sort(key=lambda h: -h.score)
    if config.copy_share < 1.0:
        hits = [hits[k] for k in distinct([h.chunk.text for h in hits], keep, config.copy_share)]
    return hits[:keep]


def query_vectors(kb: KnowledgeBase, query: str) -> dict[str, np.ndarray]:
    """The question's embedding for the chunks of each language it is searched in.

    A Chinese question over documents not mostly Chinese is also rendered in English
    (``glossary.english_rendering``). For English chunks, an English-only embedder, which
    cannot read the question, embeds the rendering alone, and a multilingual one averages the
    two vectors. In a bilingual collection the Chinese chunks keep the question's own vector:
    the averaged one costs them up to 0.04 nDCG@10.

    Chinese questions over the Python tutorial and library reference, hybrid nDCG@10: MiniLM
    0.54 / 0.55 → 0.67 / 0.66, e5 0.70 / 0.65 → 0.74 / 0.72 (devsets/RESULTS.md, 2026-12-07).
    """
    embedder = kb.embedder()
    if not rendered_in_english(kb, query):
        return {language_of(query): embedder.embed([query], kind="query")[0]}
    english_only, rendering = kb.meta["embedder"] in ENGLISH_ONLY, english_rendering(query)
    if english_only and kb.text_language() == "en":  # the question's own vector has no use
        return {"en": embedder.embed([rendering], kind="query")[0]}
    own, rendered = embedder.embed([query, rendering], kind="query")
    english = rendered if english_only else (own + rendered) / np.linalg.norm(own + rendered)
    return {"en": english} if kb.text_language() == "en" else {"zh": own, "en": english}


def query_vector(kb: KnowledgeBase, query: str) -> np.ndarray:
    """The vector that stands for the question (``SearchResult.query_vector``)."""
    return _standing_vector(query_vectors(kb, query))


def _standing_vector(vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Of ``query_vectors``' vectors, the one for English chunks if there are two, which
    carries the question in English as well."""
    return vectors.get("en", next(iter(vectors.values())))


def _dense_search(kb: KnowledgeBase, dense_index: VectorIndex, vectors: dict[str, np.ndarray],
                  depth: int) -> fusion.Ranking:
    """One search per vector; with two, each chunk keeps the score of its own language's.

    Only chunks that SQLite holds count: a Milvus collection, shared by every generation,
    may briefly hold vectors of chunks being added or deleted (``aipath.rag.vector_store``).
    """
    if len(vectors) == 1:
        hits = dense_index.search(next(iter(vectors.values())), depth)
        stored = store.existing_chunk_ids(kb.db, [cid for cid, _ in hits])
        return [(cid, score) for cid, score in hits if cid in stored]
    scores = {language: dict(dense_index.search(vector, depth)) for language, vector in vectors.items()}
    rows = store.get_chunks(kb.db, list(set().union(*scores.values())))
    merged = {cid: score for cid, row in rows.items()
              if (score := scores[language_of(row.text)].get(cid)) is not None}
    return sorted(merged.items(), key=lambda item: -item[1])[:depth]


def rendered_in_english(kb: KnowledgeBase, query: str) -> bool:
    """Whether the dense side also reads the question in English: a Chinese question over
    documents not mostly Chinese (``KnowledgeBase.text_language``)."""
    return language_of(query) == "zh" and kb.text_language() != "zh"


def vector_languages(kb: KnowledgeBase, query: str) -> frozenset[str]:
    """The languages in which the question's vectors (``query_vectors``) carry it whole: its
    own, and English where a multilingual embedder averages in the English rendering. (An
    English-only embedder's rendering alone is a word-by-word proxy, not the question.)"""
    own = language_of(query)
    if rendered_in_english(kb, query) and kb.meta["embedder"] not in ENGLISH_ONLY:
        return frozenset({own, "en"})
    return frozenset({own})


def bm25_query(kb: KnowledgeBase, query: str) -> str:
    """A question over documents not mostly in its language (``KnowledgeBase.text_language``:
    the other language, or a mix of both) also asks BM25 for the glosses of its words in the
    other language (``aipath.rag.glossary``). In a bilingual collection they cost the
    question's own language 0.00-0.02 nDCG@10 and find the other half; the English rendering
    (``query_vector``) costs more there, so it is kept for English collections
    (devsets/RESULTS.md, 2026-12-07)."""
    asked_in = language_of(query)
    if kb.text_language() == asked_in:
        return query
    glosses = english_glosses(query) if asked_in == "zh" else chinese_glosses(query)
    return f"{query} {glosses}" if glosses else query


def query_terms(query: str, keywords: str, language: str) -> set[str]:
    """The BM25 terms a chunk in ``language`` ("en" or "zh") can share with the question,
    given what BM25 was asked (``SearchResult.keywords``). In the question's own language,
    its terms. An English chunk, for a Chinese question: its English words and glosses (its
    Chinese terms cannot occur). A Chinese chunk, for an English question: the Chinese words
    of its phrases, and the words that have none, which are mostly names a Chinese text writes
    in English too (dpkg, systemd)."""
    if keywords == query or language == language_of(query):
        return set(analyze(query))
    terms = set(analyze(keywords))
    if language == "en":
        return {t for t in terms if not IDEOGRAPH.search(t)}
    translated = " ".join(phrase for phrase, _ in translations(query))
    return terms - set(analyze(translated))


def bm25_weight(config: SearchConfig, coverage: float) -> float:
    """BM25's share in the fusion: ``config.bm25_weight``, shrunk in proportion when its best
    chunk holds less than ``config.full_coverage`` of the query's idf (the dense share is the
    rest). Chosen on the ten same-language sets (devsets/RESULTS.md, 2026-12-07): any bar
    from 0.4 to 0.8 gains on both the development and the confirmation sets.

    >>> [bm25_weight(SearchConfig(), c) for c in (1.0, 0.5, 0.25, 0.0)]
    [0.5, 0.5, 0.25, 0.0]
    """
    if coverage >= config.full_coverage:
        return config.bm25_weight
    return config.bm25_weight * coverage / config.full_coverage


def _fuse(config: SearchConfig, bm25_hits: fusion.Ranking, dense_hits: fusion.Ranking,
          bm25: float) -> fusion.Ranking:
    """The ranking of ``config.mode``; a hybrid one gives BM25 the weight ``bm25``."""
    if config.mode == "bm25":
        return bm25_hits
    if config.mode == "dense":
        return dense_hits
    weights = [bm25, 1.0 - bm25]
    if config.fusion == "rrf":
        return fusion.rrf([bm25_hits, dense_hits], config.rrf_k, weights)
    if config.fusion == "minmax":
        return fusion.minmax([bm25_hits, dense_hits], weights)
    return fusion.zscore([bm25_hits, dense_hits], weights)
