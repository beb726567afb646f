"""BM25 over chunk ids, backed by bm25s's sparse score matrix.

bm25s has no incremental updates, so the index is rebuilt from the stored token lists on
every change (cheap: tokens are analysed once at ingestion and kept in SQLite).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from aipath.rag.text_analysis import analyze

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


class BM25Index:
    """Okapi BM25 (Lucene's idf) with ``search`` returning ``(chunk_id, score)`` pairs."""

    # b = 0.4 (Lucene's default is 0.75): chunks are already length-bounded, and penalising
    # the longer ones less scored better on all four development sets (devsets/RESULTS.md).
    def __init__(self, k1: float = 1.2, b: float = 0.4) -> None:
        self.k1, self.b = k1, b
        self.ids = np.zeros(0, dtype=np.int64)
        self._bm25 = None

    def __len__(self) -> int:
        return len(self.ids)

    def build(self, ids: list[int], token_lists: list[list[str]]) -> "BM25Index":
        import bm25s

        self.ids = np.asarray(ids, dtype=np.int64)
        self._bm25 = None
        if len(ids):
            # An empty token list would make bm25s drop the document; a placeholder keeps
            # positions aligned with ids and matches no query.
            corpus = [tokens or ["\x00"] for tokens in token_lists]
            self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            self._bm25.index(corpus, show_progress=False)
        return self

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed chunk, aligned with ``self.ids``."""
        terms = [t for t in analyze(query) if self._bm25 and t in self._bm25.vocab_dict]
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores = self.scores(query)
        return top_k(self.ids, scores, k)

    def coverage(self, query: str, chunk_id: int) -> float:
        """The share of the query's weight (each distinct word's idf) that the chunk holds.

        1.0 when the chunk has every word; low when it matches only some of the question's
        words, as for a question asked in other words than the documents use. A word no
        chunk has counts with the highest idf, so it lowers the share too. Chinese words
        count once, not with the parts BM25 also indexes: 文件夹 missing from every chunk is
        one missing word, not three.
        """
        terms = set(analyze(query, parts=False))
        position = np.flatnonzero(self.ids == chunk_id)
        if not terms or self._bm25 is None or not len(position):
            return 0.0
        matrix = self._bm25.scores  # CSC by term: the rows of term t are its postings
        postings, starts, n = matrix["indices"], matrix["indptr"], matrix["num_docs"]
        held = total = 0.0
        for term in terms:
            column = self._bm25.vocab_dict.get(term)
            docs = postings[starts[column]:starts[column + 1]] if column is not None else postings[:0]
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            total += idf
            held += idf if np.any(docs == position[0]) else 0.0
        return held / total

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        (folder / "params.json").write_text(json.dumps({"k1": self.k1, "b": self.b}))
        if self._bm25 is not None:
            self._bm25.save(str(folder / "bm25s"))

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        import bm25s

        params = json.loads((folder / "params.json").read_text())
        index = cls(**params)
        index.ids = np.load(folder / "ids.npy")
        if (folder / "bm25s").exists():
            index._bm25 = bm25s.BM25.load(str(folder / "bm25s"))
        return index


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` highest positive scores as ``(id, score)``, best first."""
    if len(scores) == 0 or k <= 0:
        return []
    k = min(k, len(scores))
    candidates = np.argpartition(-scores, k - 1)[:k]
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
    return [(int(ids[i]), float(scores[i])) for i in candidates if scores[i] > 0]
