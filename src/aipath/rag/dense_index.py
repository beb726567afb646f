"""FAISS vector index keyed by chunk id: exact inner product (default) or HNSW.

Vectors are L2-normalised, so inner product is cosine similarity. ``IndexIDMap2`` maps
FAISS rows to our chunk ids, which is what makes deleting a document possible. HNSW graphs
cannot drop nodes, so a delete on an HNSW index rebuilds it from the remaining vectors.

A chunk may have several vectors (its dense windows, ``aipath.rag.windows``): they share
the chunk's id, a search returns each id once with its best vector's score, and a delete
drops them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

INDEX_KINDS = ("flat", "hnsw")
COARSE_SCAN_MIN_ROWS = 50_000  # flat indexes this large scan an 8-bit copy first
COARSE_SHARD_ROWS = 25_000  # the 8-bit copy is scanned in shards, one thread each
SHORTLIST_MARGIN = 256  # rows rescored in float32 beyond the n a flat search asks for


class DenseIndex:
    def __init__(self, dim: int, kind: str = "flat", hnsw_m: int = 32) -> None:
        assert kind in INDEX_KINDS, f"index kind must be one of {INDEX_KINDS}"
        self.dim, self.kind, self.hnsw_m = dim, kind, hnsw_m
        self._index = self._empty()
        self._scan = None  # flat search's (row ids, 8-bit copy or None); reset by any change

    def _empty(self):
        import faiss

        if self.kind == "flat":
            inner = faiss.IndexFlatIP(self.dim)
        else:
            inner = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = 128
        return faiss.IndexIDMap2(inner)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        assert vectors.shape == (len(ids), self.dim), (
            f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        self._scan = None

    def remove(self, ids: list[int]) -> None:
        if not ids or not len(self):
            return
        if self.kind == "flat":
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
            self._scan = None
            return
        stored = self.ids()
        keep = ~np.isin(stored, np.asarray(ids, dtype=np.int64))
        vectors = self.vectors()[keep]
        self._index = self._empty()
        self.add(stored[keep].tolist(), vectors)

    def ids(self) -> np.ndarray:
        """The id of every stored vector, in storage order (an id repeats once per window)."""
        import faiss

        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors(self) -> np.ndarray:
        """Every stored vector, aligned with ``ids()``."""
        if not len(self):
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.index.reconstruct_n(0, len(self))

    def rows(self) -> tuple[list[int], np.ndarray]:
        """Every (chunk id, vector), for copying the index to another store."""
        return self.ids().tolist(), self.vectors()

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best ids, each scored by its best vector, best first."""
        if not len(self) or k <= 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        top = self._flat_ranking(query[0]) if self.kind == "flat" else self._graph_ranking(query)
        return best_distinct(top, k, len(self))

    def _graph_ranking(self, query: np.ndarray) -> Callable[[int], list[tuple[int, float]]]:
        """The best ``n`` vectors' (id, score) for any ``n``; each call searches the graph."""

        def top(n: int) -> list[tuple[int, float]]:
            scores, ids = self._index.search(query, n)
            return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

        return top

    def _flat_ranking(self, query: np.ndarray) -> Callable[[int], list[tuple[int, float]]]:
        """Exact search: a shortlist of rows, rescored from FAISS's float32 storage.

        Up to ``COARSE_SCAN_MIN_ROWS`` vectors the shortlist comes from one BLAS
        matrix-vector product over that storage, scored once however many vectors a search
        then asks for (for a single query FAISS scans the rows on one thread; BLAS uses
        every core). Beyond that the scan is memory-bound, so an 8-bit scalar-quantised
        copy (a quarter of the bytes) is scanned in shards, one thread each, and each
        shard's best ``n`` plus ``SHORTLIST_MARGIN`` rows are rescored exactly (100k chunks
        x 4 windows on two cores: 22 against 35 ms for a float16 copy, devsets/RESULTS.md).
        8 bits move a unit vector's score by ~1e-3; a true top-``n`` row can only miss the
        shortlist if ``SHORTLIST_MARGIN`` other rows of its shard sit that close to it, so
        the ranking and scores are those of exact float32 search either way.
        """
        matrix, ids, coarse = self._flat_arrays()
        if coarse is None:
            scores = matrix @ query

            def shortlist(size: int) -> np.ndarray:
                return np.argpartition(-scores, size - 1)[:size]
        else:
            def shortlist(size: int) -> np.ndarray:
                return coarse.shortlist(query, size + SHORTLIST_MARGIN)

        def top(n: int) -> list[tuple[int, float]]:
            rows = shortlist(min(n, len(ids)))
            exact = matrix[rows] @ query
            best = np.argsort(-exact, kind="stable")[:n]
            return [(int(ids[rows[i]]), float(exact[i])) for i in best]

        return top

    def _flat_arrays(self) -> tuple[np.ndarray, np.ndarray, QuantisedShards | None]:
        """FAISS's float32 storage (no copy), the row ids, and for a large index the
        8-bit copy; the last two made once per state of the index."""
        import faiss

        flat = faiss.downcast_index(self._index.index)
        matrix = faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.dim).reshape(-1, self.dim)
        if self._scan is None:
            coarse = QuantisedShards(matrix) if len(self) >= COARSE_SCAN_MIN_ROWS else None
            self._scan = faiss.vector_to_array(self._index.id_map), coarse
        return matrix, *self._scan

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "DenseIndex":
        import faiss

        raw = faiss.read_index(str(path))
        index = cls(raw.d, kind)
        index._index = raw
        return index


def best_distinct(top: Callable[[int], list[tuple[int, float]]], k: int,
                  rows: int) -> list[tuple[int, float]]:
    """The ``k`` best distinct ids, from ``top(n)``: the best ``n`` of at most ``rows``
    vectors as (id, score), best first, where an id repeats once per window."""
    fetch = 2 * k  # a chunk has a window or two: usually one round is enough
    while True:  # ask for more vectors until k distinct ids turn up (or all were seen)
        fetch = min(fetch, rows)
        hits = top(fetch)
        best = _best_per_id(hits)
        if len(best) >= k or len(hits) < fetch or fetch == rows:
            return best[:k]
        fetch *= 4


def _best_per_id(hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """First (best) occurrence of each id in a best-first list."""
    seen: set[int] = set()
    out = []
    for chunk_id, score in hits:
        if chunk_id not in seen:
            seen.add(chunk_id)
            out.append((chunk_id, score))
    return out


class QuantisedShards:
    """An 8-bit copy of a matrix (a range per dimension) in row blocks, searched in
    parallel. FAISS's own ``IndexShards`` is not safe to search from several threads at
    once (the API's workers do), so each block is a plain FAISS index, safe for concurrent
    searches, and the blocks are searched on a shared thread pool."""

    def __init__(self, matrix: np.ndarray) -> None:
        import faiss

        dim = matrix.shape[1]
        n_shards = max(1, min(os.cpu_count() or 1, len(matrix) // COARSE_SHARD_ROWS))
        self.offsets: list[int] = []
        self.shards: list[faiss.Index] = []
        step = -(-len(matrix) // n_shards)  # rows a block, rounded up
        for offset in range(0, len(matrix), step):
            block = matrix[offset:offset + step]
            shard = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
            shard.train(block)
            shard.add(block)
            self.offsets.append(offset)
            self.shards.append(shard)

    def shortlist(self, query: np.ndarray, size: int) -> np.ndarray:
        """Row numbers of each block's ``size`` best rows by approximate score."""
        query = query.reshape(1, -1)

        def best(i: int) -> np.ndarray:
            rows = self.shards[i].search(query, min(size, self.shards[i].ntotal))[1][0]
            return rows[rows >= 0] + self.offsets[i]

        return np.concatenate(list(_pool().map(best, range(len(self.shards)))))


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="aipath-scan")
