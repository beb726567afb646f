"""Extractive support: the sentences of the retrieved chunks that best answer a question.

A small local model (SmolLM2-135M) often answers beside its sources, or in English to a
Chinese question. When a generated answer cites no source, the answer pipeline appends
what the sources themselves say, each sentence cited, so the reader always gets grounded
text next to the model's words.

Sentences of the top chunks are ranked by three signals, each standardised over the
candidates (as hybrid retrieval fuses BM25 and dense scores): cosine similarity to the
question under the knowledge base's own embedder, the share of the question's terms the
sentence contains, and the rank of its chunk in the search, which weighed the whole chunk
with both retrievers (with it, the two sentences state the labelled answer for 0.475 of
the development and confirmation questions, against 0.428 without; devsets/RESULTS.md).
The best ones are returned in reading order.

>>> sentences_of("分页注意力与前缀缓存\\n它把 KV cache 存在固定大小的块中。块带有引用计数。",
...              headings=("部署", "分页注意力与前缀缓存"))
['它把 KV cache 存在固定大小的块中。', '块带有引用计数。']

A source's own questions (an FAQ's) restate the user's and never answer it, and a sentence
that leads into a command on the next line answers only together with that line:

>>> sentences_of("如何查看已安装的软件包？\\n要查看所有已安装的软件包的版本，请运行：\\ndpkg -l\\n"
...              "To keep a package at its version, run\\napt-mark hold foo")
['要查看所有已安装的软件包的版本，请运行： dpkg -l', 'To keep a package at its version, run apt-mark hold foo']
"""

from __future__ import annotations

import numpy as np

from aipath.rag.chunking import sentence_spans
from aipath.rag.embeddings import Embedder
from aipath.rag.retriever import Hit
from aipath.rag.script import IDEOGRAPH
from aipath.rag.text_analysis import analyze

MIN_TERMS = 3  # shorter lines are headings, labels or fragments, not statements
TERMINAL = ("。", "！", "？", "；", "…", ".", "!", "?", ";")
QUESTION = ("?", "？")
LEAD_IN = (":", "：")


def sentences_of(text: str, headings: tuple[str, ...] = ()) -> list[str]:
    """The chunk's statements: sentences with at least ``MIN_TERMS`` index terms that are
    neither one of its headings (a chunk's text starts with the heading it opens with) nor
    a question; a sentence leading into a command line is joined with it."""
    spans = sentence_spans(text, 0, len(text))
    statements, i = [], 0
    while i < len(spans):
        sentence = text[spans[i][0]:spans[i][1]]
        following = text[spans[i + 1][0]:spans[i + 1][1]] if i + 1 < len(spans) else ""
        if following and _leads_in(sentence, following):
            sentence, i = f"{sentence} {following}", i + 1
        i += 1
        if (sentence not in headings and not sentence.endswith(QUESTION)
                and len(analyze(sentence)) >= MIN_TERMS):
            statements.append(sentence)
    return statements


def _leads_in(sentence: str, following: str) -> bool:
    """"…请运行：" / "…, run" followed by a line that reads like a command (no Chinese, no
    sentence end)."""
    if sentence.endswith(LEAD_IN):
        return True
    return (not sentence.endswith(TERMINAL) and not IDEOGRAPH.search(following)
            and not following.endswith(TERMINAL) and len(following) <= 120)


def supporting_sentences(question: str, hits: list[Hit], embedder: Embedder, query: np.ndarray | None = None,
                         limit: int = 2, top_chunks: int = 3,
                         terms: set[str] | None = None) -> list[tuple[int, str]]:
    """Up to ``limit`` (source number, sentence) pairs from the first ``top_chunks`` hits,
    best-supported first by score, returned in source then reading order. ``query``: the
    question's embedding if the search already made it; ``terms``: the question's BM25
    terms, or those a search really matched (``retriever.query_terms``)."""
    candidates = [(number, position, sentence)
                  for number, hit in enumerate(hits[:top_chunks], 1)
                  for position, sentence in enumerate(sentences_of(hit.chunk.text, tuple(hit.chunk.heading.split(" > "))))]
    if not candidates:
        return []
    if query is None:
        query = embedder.embed([question], kind="query")[0]
    vectors = embedder.embed([s for _, _, s in candidates], kind="passage")
    terms = set(analyze(question)) if terms is None else terms
    coverage = np.array([len(terms & set(analyze(s))) / max(len(terms), 1) for _, _, s in candidates])
    rank = -np.array([number for number, _, _ in candidates], dtype=float)
    score = _standardised(vectors @ query) + _standardised(coverage) + _standardised(rank)
    chosen = sorted(np.argsort(-score, kind="stable")[:limit], key=lambda i: candidates[i][:2])
    return [(candidates[i][0], candidates[i][2]) for i in chosen]


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values, dtype=float)
