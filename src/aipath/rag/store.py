"""SQLite metadata of one knowledge base: settings, documents, chunks.

The ``meta`` row ``generation`` names the folder of index files that match the rows; it
changes in the same transaction that changes the rows, which is what makes every change
to a knowledge base atomic (see ``KnowledgeBase``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aipath.rag.rst_loader import strip_inline_markup

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- AUTOINCREMENT: a deleted document's id is never given to another one, so a client
-- holding an old id cannot delete or cite the wrong document.
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    added_at REAL NOT NULL,
    parser TEXT NOT NULL DEFAULT '',  -- version of the code that read it (ingest.parser_version)
    prints BLOB  -- its text's fingerprint for the copy check (copies.pack); NULL before 2026-12-08
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    page INTEGER,
    heading TEXT NOT NULL,
    terms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
-- Chunk ids whose vectors a Milvus collection must still drop: written in the transaction
-- that deletes the chunks, emptied once Milvus has done it (``aipath.rag.vector_store``).
CREATE TABLE IF NOT EXISTS vector_deletes (chunk_id INTEGER PRIMARY KEY);
"""


@dataclass
class DocumentRow:
    id: int
    name: str
    source: str
    sha256: str
    size: int
    title: str
    added_at: float
    parser: str
    n_chunks: int


@dataclass
class ChunkRow:
    id: int
    doc_id: int
    ord: int
    text: str
    start: int
    end: int
    page: int | None
    heading: str
    source: str
    title: str

    @property
    def location(self) -> str:
        """Where in its document the chunk is: the page for paginated files, else the headings."""
        return f"page {self.page}" if self.page else self.heading


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    if "parser" not in columns:  # a knowledge base made before documents recorded it
        db.execute("ALTER TABLE documents ADD COLUMN parser TEXT NOT NULL DEFAULT ''")
    if "prints" not in columns:
        db.execute("ALTER TABLE documents ADD COLUMN prints BLOB")
    return db


def get_meta(db: sqlite3.Connection) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


def set_meta(db: sqlite3.Connection, **values: Any) -> None:
    db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                   [(k, json.dumps(v)) for k, v in values.items()])


def list_documents(db: sqlite3.Connection) -> list[DocumentRow]:
    rows = db.execute(
        "SELECT d.id, d.name, d.source, d.sha256, d.size, d.title, d.added_at, d.parser, "
        "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) FROM documents d ORDER BY d.id"
    )
    return [DocumentRow(*row) for row in rows]


def document_prints(db: sqlite3.Connection) -> Iterator[tuple[int, str, bytes | None]]:
    """Every stored document's (id, name, packed fingerprint or None), one row at a time."""
    yield from db.execute("SELECT id, name, prints FROM documents ORDER BY id")


def document_text(db: sqlite3.Connection, doc_id: int) -> str:
    return db.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]


def keep_prints(db: sqlite3.Connection, rows: list[tuple[bytes, int]]) -> None:
    """Fill in (packed fingerprint, document id) pairs where none is stored yet."""
    db.executemany("UPDATE documents SET prints = ? WHERE id = ? AND prints IS NULL", rows)


def insert_document(db: sqlite3.Connection, name: str, source: str, sha256: str, size: int,
                    title: str, text: str, parser: str = "", prints: bytes | None = None) -> int:
    cursor = db.execute(
        "INSERT INTO documents(name, source, sha256, size, title, text, added_at, parser, prints) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (name, source, sha256, size, title, text, time.time(), parser, prints))
    return int(cursor.lastrowid)


def insert_chunks(db: sqlite3.Connection, doc_id: int,
                  rows: list[tuple[str, int, int, int | None, str, list[str]]]) -> list[int]:
    """Insert (text, start, end, page, heading, terms) rows; return their new ids.

    A chunk id is never given out twice, even after its chunk is deleted (``meta.last_chunk_id``
    is the high-water mark): a vector store that drops vectors after the commit, or keeps
    those of a crashed write, can then never pin them on another chunk.
    """
    last = max(get_meta(db).get("last_chunk_id", 0),
               db.execute("SELECT COALESCE(MAX(id), 0) FROM chunks").fetchone()[0])
    ids = list(range(last + 1, last + 1 + len(rows)))
    db.executemany(
        "INSERT INTO chunks(id, doc_id, ord, text, start, end, page, heading, terms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(chunk_id, doc_id, ord_, text, start, end, page, heading, " ".join(terms))
         for ord_, (chunk_id, (text, start, end, page, heading, terms)) in enumerate(zip(ids, rows))])
    set_meta(db, last_chunk_id=ids[-1] if ids else last)
    return ids


def all_terms(db: sqlite3.Connection) -> tuple[list[int], list[list[str]]]:
    rows = db.execute("SELECT id, terms FROM chunks ORDER BY id").fetchall()
    return [r[0] for r in rows], [r[1].split() for r in rows]


def chunk_ids_of(db: sqlite3.Connection, doc_id: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]


def existing_chunk_ids(db: sqlite3.Connection, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    return {row[0] for row in db.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", ids)}


def get_chunks(db: sqlite3.Connection, ids: list[int]) -> dict[int, ChunkRow]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        "SELECT c.id, c.doc_id, c.ord, c.text, c.start, c.end, c.page, c.heading, d.name, d.title "
        f"FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({marks})", ids)
    return {row[0]: ChunkRow(*row) for row in rows}


def all_chunk_sections(db: sqlite3.Connection) -> tuple[list[int], list[tuple[str, str]]]:
    """Every chunk's id and (heading path, text), in id order."""
    rows = db.execute("SELECT id, heading, text FROM chunks ORDER BY id").fetchall()
    return [r[0] for r in rows], [(r[1], r[2]) for r in rows]


def index_text(heading: str, text: str) -> str:
    """What gets embedded and BM25-indexed: the chunk with its heading path as context,
    inline markup reduced to its words."""
    text = f"{heading}\n{text}" if heading and not text.startswith(heading) else text
    return strip_inline_markup(text)
