"""Changing a knowledge base: add documents, remove one, re-embed everything.

Parsing, chunking and embedding happen before any write; only then does one transaction
insert the rows and flip to a new index generation (see ``aipath.rag.kb``). A file that
fails to parse is reported and never touches the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import import_module
from pathlib import Path

import numpy as np

from aipath.rag import store
from aipath.rag.bm25_index import BM25Index
from aipath.rag.chunking import make_chunker
from aipath.rag.copies import CopyIndex, fingerprint, format_rank, pack, unpack
from aipath.rag.document import Chunk, Document
from aipath.rag.embeddings import (ENGLISH_ONLY, Embedder, auto_embedder_spec, get_embedder,
                                   needs_multilingual)
from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError, Settings
from aipath.rag.loaders import LoaderError, Skipped, load_bytes
from aipath.rag.text_analysis import analyze
from aipath.rag.vector_store import new_prefix, vector_store
from aipath.rag.windows import dense_windows

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class SourceFile:
    """Bytes to ingest, the display name, and where they came from.

    ``versioned``: the source names one document over time (a file on disk), so a stored
    document from the same source with other content is an older version, and adding this
    one replaces it. Uploads are not versioned: two different files may share a name."""

    name: str
    data: bytes
    source: str = ""
    versioned: bool = False

    @classmethod
    def from_path(cls, path: Path, base: Path | None = None) -> "SourceFile":
        name = str(path.relative_to(base)) if base and path.is_relative_to(base) else path.name
        return cls(name=name, data=path.read_bytes(), source=str(path.resolve()), versioned=True)


@dataclass
class IngestReport:
    added: list[tuple[str, int, int]] = field(default_factory=list)  # (name, doc id, chunks)
    updated: list[tuple[str, int, int]] = field(default_factory=list)  # new versions, as added
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (name, existing name)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # no text of their own
    copies: list[tuple[str, str, float]] = field(default_factory=list)  # (name, copy of, share)
    warnings: list[str] = field(default_factory=list)  # added anyway, but the user should act


@dataclass
class _Parsed:
    file: SourceFile
    sha256: str
    document: Document
    chunks: list[Chunk]
    replaces: store.DocumentRow | None  # the stored older version of the same source
    first: int = 0  # index of its first chunk among the batch's chunks

    @cached_property
    def prints(self) -> set[int]:
        return fingerprint(self.document.text)


def _noop(stage: str, done: int, total: int) -> None:
    return None


# The code that turns a file into chunks and their terms and windows.
PARSER_MODULES = ("loaders", "decoding", "html_loader", "rst_loader", "pdf_loader", "epub_loader",
                  "notebook_loader", "roff", "block_writer", "man_loader", "mdoc", "info_loader",
                  "document", "chunking", "tokens", "windows", "script", "text_analysis")


@lru_cache(maxsize=1)
def parser_version() -> str:
    """Hash of ``PARSER_MODULES``' source, recorded with every document: a file added again
    after aipath's loaders changed is read again, so an upgrade's fixes reach the documents
    already stored (their content hash alone would call them duplicates)."""
    digest = hashlib.sha256()
    for name in PARSER_MODULES:
        digest.update(Path(import_module(f"aipath.rag.{name}").__file__).read_bytes())
    return digest.hexdigest()[:12]


def _parse(kb: KnowledgeBase, files: list[SourceFile], report: IngestReport,
           progress: Progress) -> list[_Parsed]:
    meta = kb.meta
    chunker = make_chunker(meta["chunker"], meta["chunk_tokens"], meta["chunk_overlap"])
    stored = kb.documents()
    by_sha = {d.sha256: d for d in stored}
    by_source = {d.source: d for d in stored}
    taken: dict[str, str] = {}  # content hash → name, for the files of this batch
    parsed: list[_Parsed] = []
    for done, file in enumerate(files, 1):
        sha = hashlib.sha256(file.data).hexdigest()
        known = by_sha.get(sha)
        reread = known is not None and file.versioned and known.parser != parser_version()
        if sha in taken or (known is not None and not reread):
            report.duplicates.append((file.name, taken.get(sha) or known.name))
        else:
            try:
                document = load_bytes(file.data, file.name)
                older = known if reread else by_source.get(file.source) if file.versioned else None
                parsed.append(_Parsed(file, sha, document, chunker.split(document), older))
                taken[sha] = file.name
            except Skipped as exc:
                report.skipped.append((file.name, str(exc)))
            except LoaderError as exc:
                report.failed.append((file.name, str(exc)))
        progress("parse", done, len(files))
    return parsed


def add_documents(kb: KnowledgeBase, files: list[SourceFile], progress: Progress = _noop,
                  strict: bool = False, keep_copies: bool = False) -> IngestReport:
    """Add every file that parses; with ``strict``, add nothing if any file fails or has no
    text of its own. A document whose text is already stored, or comes in this batch in a
    better format, is left out as a copy (see ``aipath.rag.copies``) unless ``keep_copies``."""
    report = IngestReport()
    kb.vectors.check()
    parsed = _parse(kb, files, report, progress)
    if not keep_copies:
        parsed = _drop_copies(kb, parsed, report)
    if not parsed or (strict and (report.failed or report.skipped)):
        return report
    meta = kb.meta
    spec = meta["embedder"]
    sample = " ".join(p.document.text[:2000] for p in parsed)
    if spec == "auto":
        spec = auto_embedder_spec(sample)
    elif spec in ENGLISH_ONLY and needs_multilingual(sample):
        report.warnings.append(
            f"'{kb.name}' embeds with {spec}, which knows English only, and these documents are "
            f"mostly in another language: dense search will hardly find them (keyword search "
            f"will). Run `aipath kb reembed {kb.name} e5` to switch to the multilingual model.")
    embedder = _load_embedder(spec, progress)
    if meta["dim"] and embedder.dim != meta["dim"]:
        raise KnowledgeBaseError(
            f"the embedder '{spec}' now returns {embedder.dim}-d vectors but '{kb.name}' holds "
            f"{meta['dim']}-d ones; run `aipath kb reembed {kb.name} {spec}` first")
    chunks = []
    for item in parsed:
        item.first = len(chunks)
        chunks += item.chunks
    terms = [analyze(store.index_text(c.heading, c.text)) for c in chunks]
    owners, vectors = _embed_windows(embedder, [(c.heading, c.text) for c in chunks],
                                     meta.get("dense_window_tokens", 0), progress)
    with kb.transaction():
        parsed = _still_new(kb, parsed, report)
        if not parsed:
            return report
        dense = kb.vectors.writer(embedder.dim)
        dense.remove([cid for item in parsed if item.replaces
                      for cid in _delete_document(kb, item.replaces.id)])
        chunk_id: dict[int, int] = {}  # index among the batch's chunks → its new id
        for item in parsed:
            doc = item.document
            doc_id = store.insert_document(kb.db, item.file.name, item.file.source or item.file.name,
                                           item.sha256, len(item.file.data), doc.title, doc.text,
                                           parser_version(), pack(item.prints))
            rows = [(c.text, c.start, c.end, c.page, c.heading, terms[item.first + i])
                    for i, c in enumerate(item.chunks)]
            for i, new_id in enumerate(store.insert_chunks(kb.db, doc_id, rows)):
                chunk_id[item.first + i] = new_id
            (report.updated if item.replaces else report.added).append(
                (item.file.name, doc_id, len(item.chunks)))
        kept = [k for k, owner in enumerate(owners) if owner in chunk_id]
        dense.add([chunk_id[owners[k]] for k in kept], vectors[kept])
        kb.commit_generation(dense, _rebuilt_bm25(kb), embedder=spec,
                             embedder_name=embedder.name, dim=embedder.dim)
    return report


def _drop_copies(kb: KnowledgeBase, parsed: list[_Parsed], report: IngestReport) -> list[_Parsed]:
    """The parsed documents that do not repeat, in a format with less structure, the text of
    stored documents or of others in the batch (the .txt and PDF of a manual beside its HTML).
    Documents of one format are never copies of each other: a page made mostly of sections
    it shares with others (git-show's diff options) is still that page."""
    if not parsed:
        return parsed
    replaced = {item.replaces.id for item in parsed if item.replaces}
    candidates: list[tuple[int, str, set[int], _Parsed | None]] = [
        (format_rank(name), name, prints, None) for name, prints in _stored_prints(kb, replaced)]
    candidates += [(format_rank(item.file.name), item.file.name, item.prints, item) for item in parsed]
    index = CopyIndex()
    copies = set()
    for rank, name, prints, item in sorted(candidates, key=lambda c: c[0]):  # stored first within a rank
        if item is not None and (match := index.match(prints, rank)):
            report.copies.append((name, match[1], match[0]))
            copies.add(id(item))
        else:
            index.add(name, prints, rank)
    return [item for item in parsed if id(item) not in copies]


def _stored_prints(kb: KnowledgeBase, leave_out: set[int]) -> list[tuple[str, set[int]]]:
    """The stored documents' fingerprints. One stored before they were kept with the
    document has its text read and fingerprinted once, and the result kept: a derived value
    of a text that never changes, so it is written without the knowledge base's write lock."""
    found, missing = [], []
    for doc_id, name, blob in store.document_prints(kb.db):
        if doc_id in leave_out:
            continue
        if blob is None:
            prints = fingerprint(store.document_text(kb.db, doc_id))
            missing.append((pack(prints), doc_id))
        else:
            prints = unpack(blob)
        found.append((name, prints))
    store.keep_prints(kb.db, missing)
    return found


def _still_new(kb: KnowledgeBase, parsed: list[_Parsed], report: IngestReport) -> list[_Parsed]:
    """The parsed files that no other writer stored while they were being embedded: checked
    again under the write lock, so two clients adding the same file both succeed, once."""
    stored = {d.sha256: d for d in kb.documents()}
    fresh = []
    for item in parsed:
        same = stored.get(item.sha256)
        if same is not None and not (item.replaces and same.id == item.replaces.id):
            report.duplicates.append((item.file.name, same.name))
        else:
            fresh.append(item)
    return fresh


def remove_document(kb: KnowledgeBase, ref: str) -> store.DocumentRow:
    with kb.transaction():
        doc = kb.find_document(ref)
        _remove_and_commit(kb, [doc.id])
    return doc


def remove_missing(kb: KnowledgeBase, folders: list[Path]) -> list[store.DocumentRow]:
    """Remove, in one commit, the documents added from files under ``folders`` whose files
    are gone (``kb add --sync``). Uploads and files that still exist are never touched."""
    roots = [folder.resolve() for folder in folders]

    def gone(doc: store.DocumentRow) -> bool:
        path = Path(doc.source)
        return (path.is_absolute() and any(path.is_relative_to(root) for root in roots)
                and not path.exists())

    with kb.transaction():
        removed = [doc for doc in kb.documents() if gone(doc)]
        if removed:
            _remove_and_commit(kb, [doc.id for doc in removed])
    return removed


def _remove_and_commit(kb: KnowledgeBase, doc_ids: list[int]) -> None:
    """Delete documents and commit a generation without their vectors (inside a transaction)."""
    dense = kb.vectors.writer(kb.meta["dim"])
    dense.remove([cid for doc_id in doc_ids for cid in _delete_document(kb, doc_id)])
    kb.commit_generation(dense, _rebuilt_bm25(kb))


def _delete_document(kb: KnowledgeBase, doc_id: int) -> list[int]:
    """Delete a document's rows (its chunks cascade); return the chunk ids it had."""
    chunk_ids = store.chunk_ids_of(kb.db, doc_id)
    kb.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
    return chunk_ids


def reembed(kb: KnowledgeBase, spec: str, progress: Progress = _noop) -> int:
    """Embed every chunk again with another model; the old vectors stay until commit."""
    kb.vectors.check()
    embedder = _load_embedder(spec, progress)
    # Read before the rows: a writer committing in between then shows up as a changed generation.
    generation = kb.meta["generation"]
    ids, sections = store.all_chunk_sections(kb.db)
    owners, vectors = _embed_windows(embedder, sections, kb.meta.get("dense_window_tokens", 0), progress)
    dense = kb.vectors.fresh(embedder.dim)
    dense.add([ids[i] for i in owners], vectors)
    with kb.transaction():
        if kb.meta["generation"] != generation:
            raise KnowledgeBaseError("the knowledge base changed while re-embedding; run it again")
        kb.commit_generation(dense, _rebuilt_bm25(kb), embedder=spec,
                             embedder_name=embedder.name, dim=embedder.dim)
    return len(ids)


def move_vectors(kb: KnowledgeBase, target: str, milvus_uri: str = "") -> int:
    """Copy every vector to another store (``vector_store``: faiss or milvus) and switch to it
    in one commit: the way onto a Milvus server, or back, without embedding again. The old
    store's vectors are deleted after the switch. Returns the number of vectors copied."""
    Settings(vector_store=target, milvus_uri=milvus_uri)  # the same checks as at creation
    meta = kb.meta
    if _store_of(meta) == (target, milvus_uri):
        raise KnowledgeBaseError(f"'{kb.name}' already keeps its vectors there")
    if "milvus_prefix" not in meta:  # a knowledge base made before aipath knew Milvus
        store.set_meta(kb.db, milvus_prefix=new_prefix())
    generation, old = meta["generation"], kb.vectors
    new = vector_store(kb, target, milvus_uri)
    new.check()
    dense, _ = kb.indexes()
    ids, vectors = dense.rows() if dense is not None else ([], None)
    try:
        with kb.transaction():
            if kb.meta["generation"] != generation:
                raise KnowledgeBaseError("the knowledge base changed while its vectors were "
                                         "copied; run it again")
            if vectors is None:  # nothing embedded yet: only the setting changes
                store.set_meta(kb.db, vector_store=target, milvus_uri=milvus_uri)
            else:
                changes = new.fresh(vectors.shape[1])
                changes.add(ids, vectors)
                kb.commit_generation(changes, _rebuilt_bm25(kb), staged_in=new,
                                     vector_store=target, milvus_uri=milvus_uri)
    except BaseException:
        if _store_of(kb.meta) != (target, milvus_uri):
            new.drop()  # what the failed switch left there; the old store still serves
        raise  # (else another client moved it there meanwhile: those vectors are in use)
    old.drop()
    return len(ids)


def _store_of(meta: dict) -> tuple[str, str]:
    return meta.get("vector_store", "faiss"), meta.get("milvus_uri", "")


def _load_embedder(spec: str, progress: Progress) -> Embedder:
    """The first use of a local model exports it to ONNX (seconds): show it as a stage."""
    progress(f"load embedder {spec}", 0, 1)
    embedder = get_embedder(spec)
    progress(f"load embedder {spec}", 1, 1)
    return embedder


def _embed_windows(embedder, sections: list[tuple[str, str]], window_tokens: int,
                   progress: Progress) -> tuple[list[int], np.ndarray]:
    """Vectors of every chunk's dense windows, and for each vector the index of its chunk."""
    owners, texts = [], []
    for i, (heading, text) in enumerate(sections):
        windows = dense_windows(heading, text, window_tokens)
        owners += [i] * len(windows)
        texts += windows
    return owners, _embed(embedder, texts, progress)


def _embed(embedder, texts: list[str], progress: Progress, batch: int = 256) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed(texts[start:start + batch], kind="passage"))
        progress("embed", min(start + batch, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)


def _rebuilt_bm25(kb: KnowledgeBase) -> BM25Index:
    ids, terms = store.all_terms(kb.db)
    return BM25Index().build(ids, terms)
