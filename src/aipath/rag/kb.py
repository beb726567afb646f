"""A knowledge base: documents → chunks → (FAISS + BM25) indexes, with atomic changes.

On disk, under ``<home>/kb/<name>/``::

    kb.sqlite          settings, documents, chunks (ids, text, offsets, BM25 terms)
    gen/<N>/dense.faiss, gen/<N>/bm25/    the index files matching generation N
    lock               writers take an exclusive flock on it

A change (add, delete, re-embed) builds generation N+1's files beside N's, then flips
``meta.generation`` to N+1 in the same SQLite transaction that changes the rows. A crash
or an error before that commit leaves N — rows and files — exactly as it was.
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
from aipath.rag.dense_index import INDEX_KINDS, DenseIndex
from aipath.rag.embeddings import Embedder, get_embedder
from aipath.rag.script import language_of

_NAME = re.compile(r"^[\w][\w.-]{0,63}$")


class KnowledgeBaseError(ValueError):
    """A user-facing problem with a knowledge base (missing, exists, bad name, …)."""


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

    def __post_init__(self) -> None:
        assert self.index in INDEX_KINDS, f"index must be one of {INDEX_KINDS}"
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
        self._dense: DenseIndex | None = None
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
        store.set_meta(db, embedder=settings.embedder, index=settings.index,
                       chunker=settings.chunker, chunk_tokens=settings.chunk_tokens,
                       chunk_overlap=settings.chunk_overlap,
                       dense_window_tokens=settings.dense_window_tokens, generation=0, dim=0,
                       embedder_name="")
        db.close()
        return cls(home, name)

    @staticmethod
    def drop(home: Path, name: str) -> None:
        path = kb_root(home) / check_name(name)
        if not (path / "kb.sqlite").exists():
            raise KnowledgeBaseError(f"knowledge base '{name}' does not exist")
        shutil.rmtree(path)

    def close(self) -> None:
        self.db.close()

    @property
    def meta(self) -> dict[str, Any]:
        return store.get_meta(self.db)

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

    def indexes(self) -> tuple[DenseIndex | None, BM25Index]:
        """The indexes of the committed generation, reloaded when another writer moved on."""
        generation = self.meta["generation"]
        if generation != self._loaded_generation:
            folder = self.generation_dir(generation)
            dense_path = folder / "dense.faiss"
            self._dense = (DenseIndex.load(dense_path, self.meta["index"])
                           if dense_path.exists() else None)
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

    def commit_generation(self, dense: DenseIndex | None, bm25: BM25Index, **meta: Any) -> None:
        """Write the new generation's files, then flip to it inside the open transaction.

        Must be called inside ``BEGIN IMMEDIATE`` under ``write_lock``; the caller commits.
        """
        old = self.meta["generation"]
        new = old + 1
        folder = self.generation_dir(new)
        shutil.rmtree(folder, ignore_errors=True)  # debris of a crashed attempt
        folder.mkdir(parents=True)
        if dense is not None:
            dense.save(folder / "dense.faiss")
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
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            self.prune_generations()

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
