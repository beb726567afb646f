"""A knowledge base: documents → chunks → (FAISS + BM25) indexes, with atomic changes.

On disk, under ``<home>/kb/<name>/``::

    kb.sqlite          settings, documents, chunks (ids, text, offsets, BM25 terms)
    gen/<N>/dense.faiss, gen/<N>/bm25/    the index files matching generation N
    milvus.db          the vectors, for a knowledge base kept in Milvus Lite
    lock               writers take an exclusive flock on it

A change (add, delete, re-embed) builds generation N+1's files beside N's, then flips
``meta.generation`` to N+1 in the same SQLite transaction that changes the rows. A crash
or an error before that commit leaves N — rows and files — exactly as it was. Vectors kept
in Milvus follow the same rule (``aipath.rag.vector_store``).
"""

from __future__ import annotations

import fcntl
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aipath.rag import store
from aipath.rag.bm25_index import BM25Index
from aipath.rag.defaults import CHUNK_OVERLAP, CHUNK_TOKENS, WINDOW_TOKENS
from aipath.rag.dense_index import INDEX_KINDS
from aipath.rag.embeddings import Embedder, get_embedder
from aipath.rag.errors import KnowledgeBaseError
from aipath.rag.milvus_index import is_server
from aipath.rag.script import language_of
from aipath.rag.vector_store import (VECTOR_STORES, VectorChanges, VectorIndex, VectorStore,
                                     new_prefix, vector_store)

_NAME = re.compile(r"^[\w][\w.-]{0,63}$")


def kb_root(home: Path) -> Path:
    return home / "kb"


def check_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise KnowledgeBaseError(
            f"invalid knowledge-base name '{name}': use letters, digits, '_', '-', '.' "
            "(at most 64 characters, not starting with '.' or '-')")
    return name


def list_knowledge_bases(home: Path) -> list[str]:
    root = kb_root(home)
    return sorted(p.name for p in root.iterdir() if (p / "kb.sqlite").exists()) if root.exists() else []


@dataclass
class Settings:
    """Per-knowledge-base choices, fixed at creation (the embedder can be changed by re-embedding)."""

    embedder: str = "auto"  # minilm | e5 | tei:URL | openai:URL#MODEL | auto (decided at first add)
    index: str = "flat"  # flat (exact) | hnsw
    chunker: str = "recursive"
    chunk_tokens: int = CHUNK_TOKENS
    chunk_overlap: int = CHUNK_OVERLAP
    dense_window_tokens: int = WINDOW_TOKENS  # 0: one vector per chunk (see ``aipath.rag.windows``)
    vector_store: str = "faiss"  # faiss (files beside the knowledge base) | milvus
    milvus_uri: str = ""  # a Milvus server (http://host:19530); empty: a Milvus Lite file inside

    def __post_init__(self) -> None:
        assert self.index in INDEX_KINDS, f"index must be one of {INDEX_KINDS}"
        assert self.vector_store in VECTOR_STORES, f"vector store must be one of {VECTOR_STORES}"
        assert not self.milvus_uri or self.vector_store == "milvus", (
            "a Milvus URI needs --vector-store milvus")
        assert not self.milvus_uri or is_server(self.milvus_uri), (
            f"'{self.milvus_uri}' is not a Milvus server URI (http://HOST:19530); leave it out "
            "to keep the vectors in a Milvus Lite file inside the knowledge base")
        assert self.chunk_tokens >= 16, "chunk size must be at least 16 tokens"
        assert 0 <= self.chunk_overlap < self.chunk_tokens, (
            f"overlap ({self.chunk_overlap}) must be at least 0 and smaller than the chunk "
            f"size ({self.chunk_tokens})")
        assert self.dense_window_tokens >= 0, "the dense window size must be at least 0"


class KnowledgeBase:
    def __init__(self, home: Path, name: str) -> None:
        self.name = check_name(name)
        self.path = kb_root(home) / name
        if not (self.path / "kb.sqlite").exists():
            raise KnowledgeBaseError(
                f"knowledge base '{name}' does not exist; create it with `aipath kb create {name}`")
        self.db = store.connect(self.path / "kb.sqlite")
        self._loaded_generation = -1
        self._dense: VectorIndex | None = None
        self._bm25: BM25Index | None = None
        self._language: tuple[int, str] = (-1, "en")  # (generation, its text's language)

    # ---- lifecycle -------------------------------------------------------------------
    @classmethod
    def create(cls, home: Path, name: str, settings: Settings | None = None) -> "KnowledgeBase":
        path = kb_root(home) / check_name(name)
        if (path / "kb.sqlite").exists():
            raise KnowledgeBaseError(f"knowledge base '{name}' already exists")
        path.mkdir(parents=True, exist_ok=True)
        settings = settings or Settings()
        db = store.connect(path / "kb.sqlite")
        prefix = new_prefix()
        store.set_meta(db, embedder=settings.embedder, index=settings.index,
                       chunker=settings.chunker, chunk_tokens=settings.chunk_tokens,
                       chunk_overlap=settings.chunk_overlap,
                       dense_window_tokens=settings.dense_window_tokens, generation=0, dim=0,
                       embedder_name="", last_chunk_id=0, vector_store=settings.vector_store,
                       milvus_uri=settings.milvus_uri, milvus_prefix=prefix,
                       milvus_collection=f"{prefix}_g0")
        db.close()
        return cls(home, name)

    @classmethod
    def drop(cls, home: Path, name: str) -> None:
        kb = cls(home, name)
        try:
            kb.vectors.drop()
        finally:
            kb.close()
        shutil.rmtree(kb.path)

    def close(self) -> None:
        self.db.close()

    @property
    def meta(self) -> dict[str, Any]:
        return store.get_meta(self.db)

    @property
    def vectors(self) -> VectorStore:
        """The vector store the meta names: read each time, as another process may have moved
        the vectors (``aipath kb move``), and a rollback or commit may have changed it."""
        return vector_store(self)

    def index_label(self) -> str:
        """The vector index in a word or three: "flat", "milvus hnsw @ http://host:19530"."""
        meta = self.meta
        if meta.get("vector_store", "faiss") == "faiss":
            return meta["index"]
        return f"milvus {meta['index']} @ {meta['milvus_uri'] or 'milvus.db'}"

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time per knowledge base, across threads and processes."""
        with open(self.path / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- indexes ---------------------------------------------------------------------
    def generation_dir(self, generation: int) -> Path:
        return self.path / "gen" / str(generation)

    def indexes(self) -> tuple[VectorIndex | None, BM25Index]:
        """The indexes of the committed generation, reloaded when another writer moved on."""
        generation = self.meta["generation"]
        if generation != self._loaded_generation:
            folder = self.generation_dir(generation)
            self._dense = self.vectors.reader()
            self._bm25 = (BM25Index.load(folder / "bm25") if (folder / "bm25").exists()
                          else BM25Index())
            self._loaded_generation = generation
        assert self._bm25 is not None
        return self._dense, self._bm25

    def embedder(self) -> Embedder:
        spec = self.meta["embedder"]
        if spec == "auto":
            raise KnowledgeBaseError(f"knowledge base '{self.name}' is empty; add documents first")
        return get_embedder(spec)

    def commit_generation(self, dense: VectorChanges | None, bm25: BM25Index,
                          staged_in: VectorStore | None = None, **meta: Any) -> None:
        """Write the new generation's files, then flip to it inside the open transaction.
        ``staged_in``: the store the vectors go to, if not the current one (a move's target).

        Must be called inside ``BEGIN IMMEDIATE`` under ``write_lock``; the caller commits.
        """
        old = self.meta["generation"]
        new = old + 1
        folder = self.generation_dir(new)
        shutil.rmtree(folder, ignore_errors=True)  # debris of a crashed attempt
        folder.mkdir(parents=True)
        if dense is not None:
            meta |= (staged_in or self.vectors).stage(dense, folder)
        bm25.save(folder / "bm25")
        store.set_meta(self.db, generation=new, **meta)

    def prune_generations(self) -> None:
        """Keep the current and previous generation (a reader may still be loading it)."""
        current = self.meta["generation"]
        for folder in (self.path / "gen").glob("*"):
            if folder.name.isdigit() and int(folder.name) < current - 1:
                shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.write_lock():
            self.vectors.settle()  # what a crashed writer left
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                self._settle_after_failure()
                raise
            self.db.execute("COMMIT")
            self.vectors.settle()
            self.prune_generations()

    def _settle_after_failure(self) -> None:
        """Tidy the vectors a failed change staged; if that fails too (Milvus gone, often the
        first failure's cause), the next change tidies them, and searches skip them meanwhile."""
        try:
            self.vectors.settle()
        except Exception:  # noqa: BLE001 - the change's own error is the one to report
            pass

    # ---- reading ---------------------------------------------------------------------
    def documents(self) -> list[store.DocumentRow]:
        return store.list_documents(self.db)

    def find_document(self, ref: str) -> store.DocumentRow:
        """A document by id or by name (exact)."""
        docs = self.documents()
        matches = [d for d in docs if str(d.id) == ref or d.name == ref]
        if not matches:
            raise KnowledgeBaseError(
                f"no document '{ref}' in '{self.name}'; see `aipath kb docs {self.name}`")
        if len(matches) > 1:
            raise KnowledgeBaseError(f"'{ref}' names several documents; use its id")
        return matches[0]

    def text_language(self) -> str:
        """"en" or "zh" when two chunks in three are in that language (``script.language_of``
        of their openings, in an even sample of about 200), else "mixed"; kept until the next
        change. It decides which cross-language aids a question gets (``retriever.bm25_query``,
        ``query_vector``).
        """
        generation = self.meta["generation"]
        if self._language[0] != generation:
            step = max(1, -(-self.chunk_count() // 200))  # every step-th chunk, over all of them
            rows = self.db.execute("SELECT opening FROM (SELECT substr(text, 1, 100) AS opening, "
                                   "ROW_NUMBER() OVER (ORDER BY id) AS n FROM chunks) "
                                   "WHERE n % ? = 0", (step,)).fetchall()
            chinese = sum(language_of(text) == "zh" for (text,) in rows) / max(1, len(rows))
            self._language = (generation, "zh" if chinese >= 2 / 3 else
                              "en" if chinese <= 1 / 3 else "mixed")
        return self._language[1]

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
