"""Extractive support: the sentences of the retrieved chunks that best answer a question.

A small local model (SmolLM2-135M) often answers beside its sources, or in English to a
Chinese question. When a generated answer cites no source, the answer pipeline appends
what the sources themselves say, each sentence cited, so the reader always gets grounded
text next to the model's words.

Sentences of the top chunks are ranked by two signals, each standardised over the
candidates (as hybrid retrieval fuses BM25 and dense scores): cosine similarity to the
question under the knowledge base's own embedder, and the share of the question's terms
the sentence contains. The best ones are returned in reading order.

>>> sentences_of("分页注意力与前缀缓存\\n它把 KV cache 存在固定大小的块中。块带有引用计数。",
...              headings=("部署", "分页注意力与前缀缓存"))
['它把 KV cache 存在固定大小的块中。', '块带有引用计数。']
"""

from __future__ import annotations

import numpy as np

from aipath.rag.chunking import sentence_spans
from aipath.rag.embeddings import Embedder
from aipath.rag.retriever import Hit
from aipath.rag.text_analysis import analyze

MIN_TERMS = 3  # shorter lines are headings, labels or fragments, not statements


def sentences_of(text: str, headings: tuple[str, ...] = ()) -> list[str]:
    """The chunk's sentences that say something: at least ``MIN_TERMS`` index terms, and
    not one of its headings (a chunk's text starts with the heading it opens with)."""
    sentences = (text[a:b] for a, b in sentence_spans(text, 0, len(text)))
    return [s for s in sentences if s not in headings and len(analyze(s)) >= MIN_TERMS]


def supporting_sentences(question: str, hits: list[Hit], embedder: Embedder, query: np.ndarray | None = None,
                         limit: int = 2, top_chunks: int = 3) -> list[tuple[int, str]]:
    """Up to ``limit`` (source number, sentence) pairs from the first ``top_chunks`` hits,
    best-supported first by score, returned in source then reading order. ``query``: the
    question's embedding if the search already made it."""
    candidates = [(number, position, sentence)
                  for number, hit in enumerate(hits[:top_chunks], 1)
                  for position, sentence in enumerate(sentences_of(hit.chunk.text, tuple(hit.chunk.heading.split(" > "))))]
    if not candidates:
        return []
    if query is None:
        query = embedder.embed([question], kind="query")[0]
    vectors = embedder.embed([s for _, _, s in candidates], kind="passage")
    terms = set(analyze(question))
    coverage = np.array([len(terms & set(analyze(s))) / max(len(terms), 1) for _, _, s in candidates])
    score = _standardised(vectors @ query) + _standardised(coverage)
    chosen = sorted(np.argsort(-score, kind="stable")[:limit], key=lambda i: candidates[i][:2])
    return [(candidates[i][0], candidates[i][2]) for i in chosen]


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values, dtype=float)
