"""Where a knowledge base keeps its vectors, and how a change reaches them atomically.

Two stores behind one interface, chosen when the knowledge base is created (``aipath kb
move``, ``ingest.move_vectors``, copies the vectors from one to the other):

- ``FaissStore`` (default): a FAISS file per generation (``gen/N/dense.faiss``). A change
  writes generation N+1's file; the SQLite commit that flips to N+1 publishes it.
- ``MilvusStore``: one Milvus collection (a new one per re-embedding or move) shared by every
  generation, for collections larger than one machine. A change is held in memory until the
  transaction stages it: new vectors are inserted before the commit, under chunk ids no
  other chunk will ever have (``store.insert_chunks``); the ids of deleted chunks go to the
  ``vector_deletes`` table in the same transaction and leave Milvus after the commit.
  ``settle`` runs after every commit or rollback and before every write: it carries out
  those deletes, drops vectors of ids above ``meta.last_chunk_id`` (a write that failed or
  crashed) and collections a re-embedding left behind. Readers may meet such vectors in the
  meantime; ``retriever.search`` only returns chunks that SQLite holds.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from aipath.rag.dense_index import DenseIndex
from aipath.rag.milvus_index import MilvusIndex, client, is_server, release

if TYPE_CHECKING:
    from aipath.rag.kb import KnowledgeBase

VECTOR_STORES = ("faiss", "milvus")


class VectorIndex(Protocol):
    dim: int

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def rows(self) -> tuple[list[int], np.ndarray]: ...


class VectorChanges(Protocol):
    """What a writer does to the vectors inside a transaction."""

    dim: int

    def add(self, ids: list[int], vectors: np.ndarray) -> None: ...

    def remove(self, ids: list[int]) -> None: ...


def vector_store(kb: "KnowledgeBase", kind: str | None = None,
                 milvus_uri: str | None = None) -> "VectorStore":
    """The store the committed meta names, or the one given (``ingest.move_vectors``)."""
    meta = kb.meta
    kind = kind or meta.get("vector_store", "faiss")
    if kind == "faiss":
        return FaissStore(kb)
    return MilvusStore(kb, meta.get("milvus_uri", "") if milvus_uri is None else milvus_uri)


def new_prefix() -> str:
    """A knowledge base's Milvus collection names start with it: unique on a shared server."""
    return f"aipath_{uuid.uuid4().hex}"


class FaissStore:
    """A FAISS file per generation, beside the BM25 files."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.kb = kb

    def _path(self) -> Path:
        return self.kb.generation_dir(self.kb.meta["generation"]) / "dense.faiss"

    def reader(self) -> DenseIndex | None:
        return DenseIndex.load(self._path(), self.kb.meta["index"]) if self._path().exists() else None

    def writer(self, dim: int) -> DenseIndex:
        """A private copy of the committed index (the cached one keeps serving reads)."""
        return self.reader() or DenseIndex(dim, self.kb.meta["index"])

    def fresh(self, dim: int) -> DenseIndex:
        return DenseIndex(dim, self.kb.meta["index"])

    def stage(self, changes: DenseIndex, folder: Path) -> dict[str, Any]:
        changes.save(folder / "dense.faiss")
        return {}

    def check(self) -> None:
        """Nothing to reach: the files are local."""

    def settle(self) -> None:
        """Nothing to tidy: an uncommitted generation's folder is never read."""

    def drop(self) -> None:
        """The files go with the knowledge base's folder."""


@dataclass
class MilvusChanges:
    """Vectors to add and chunk ids to remove, held until ``MilvusStore.stage``; ``fresh``:
    they fill a new collection (re-embedding) instead of changing the current one."""

    dim: int
    fresh: bool = False
    ids: list[int] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        assert vectors.shape == (len(ids), self.dim), (
            f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        self.ids += ids
        self.vectors.append(np.asarray(vectors, dtype=np.float32))

    def remove(self, ids: list[int]) -> None:
        self.removed += ids


class MilvusStore:
    """One Milvus collection a knowledge base, named ``meta.milvus_collection``."""

    def __init__(self, kb: "KnowledgeBase", uri: str) -> None:
        self.kb = kb
        self.uri = uri or str(kb.path / "milvus.db")
        self.prefix = kb.meta["milvus_prefix"]

    def _index(self, collection: str, dim: int | None = None) -> MilvusIndex:
        return MilvusIndex(self.uri, collection, dim or self.kb.meta["dim"], self.kb.meta["index"])

    def reader(self) -> MilvusIndex | None:
        index = self._index(self.kb.meta["milvus_collection"])
        return index.ready() if index.exists() else None

    def writer(self, dim: int) -> MilvusChanges:
        return MilvusChanges(dim)

    def fresh(self, dim: int) -> MilvusChanges:
        return MilvusChanges(dim, fresh=True)

    def check(self) -> None:
        """Reach Milvus now, before minutes of parsing and embedding that it would waste."""
        client(self.uri)

    def stage(self, changes: MilvusChanges, folder: Path) -> dict[str, Any]:
        """Insert the new vectors and queue the removals (inside the transaction)."""
        meta = self.kb.meta
        name = f"{self.prefix}_g{meta['generation'] + 1}" if changes.fresh else meta["milvus_collection"]
        target = self._index(name, changes.dim)
        if changes.fresh and target.exists():  # debris of a crashed re-embedding
            target.drop()
        if not target.exists():
            target.create()
        if changes.ids:
            target.insert(changes.ids, np.concatenate(changes.vectors))
        if not changes.fresh:
            self.kb.db.executemany("INSERT OR IGNORE INTO vector_deletes(chunk_id) VALUES (?)",
                                   [(i,) for i in changes.removed])
        return {"milvus_collection": name}

    def _collections(self) -> list[str]:
        """This knowledge base's collections on the server (others may share it)."""
        return [name for name in client(self.uri).list_collections()
                if name.startswith(f"{self.prefix}_g")]

    def settle(self) -> None:
        """Bring Milvus in line with the committed rows (outside any transaction)."""
        meta = self.kb.meta
        current = self._index(meta["milvus_collection"])
        for name in self._collections():
            if name != current.collection:
                self._index(name).drop()
        if current.exists():
            pending = [row[0] for row in self.kb.db.execute("SELECT chunk_id FROM vector_deletes")]
            current.delete(pending)
            current.delete_above(meta.get("last_chunk_id", 0))
        self.kb.db.execute("DELETE FROM vector_deletes")

    def drop(self) -> None:
        for name in self._collections():
            self._index(name).drop()
        if not is_server(self.uri):
            release(self.uri)
            shutil.rmtree(self.uri, ignore_errors=True)


VectorStore = FaissStore | MilvusStore
