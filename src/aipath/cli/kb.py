"""``aipath kb …``: create, fill, inspect and delete knowledge bases."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aipath.cli.common import (HomeOption, console, err_console, fail, home_dir, report_skipped,
                               user_errors)
from aipath.rag.defaults import CHUNK_OVERLAP, CHUNK_TOKENS, WINDOW_TOKENS

kb_app = typer.Typer(help="Knowledge bases: create one, add documents, list, remove.",
                     no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


@kb_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Name of the new knowledge base.")],
    embedder: Annotated[str, typer.Option(
        help="minilm-int8 or minilm (English), mpnet (English, more accurate, about 10x "
             "slower to add documents), e5 or e5-int8 (multilingual, for Chinese), "
             "tei:URL, openai:URL#MODEL, or auto (decided by the language of the first "
             "documents).")] = "auto",
    index: Annotated[str, typer.Option(help="Vector index: flat (exact) or hnsw.")] = "flat",
    chunker: Annotated[str, typer.Option(help="recursive (structure-aware), fixed or sliding.")] = "recursive",
    chunk_tokens: Annotated[int, typer.Option(help="Chunk size in embedding-model tokens.")] = CHUNK_TOKENS,
    overlap: Annotated[int, typer.Option(help="Overlap between chunks, in tokens.")] = CHUNK_OVERLAP,
    dense_window_tokens: Annotated[int, typer.Option(
        help="Embed each chunk as sentence windows of at most this many tokens and score it "
             "by its best window; 0 embeds whole chunks.")] = WINDOW_TOKENS,
    vector_store: Annotated[str, typer.Option(
        help="Where the vectors live: faiss (files beside the knowledge base) or milvus (a "
             "Milvus server given by --milvus-uri, else a Milvus Lite file inside the "
             "knowledge base, which one process at a time may open).")] = "faiss",
    milvus_uri: Annotated[str, typer.Option(
        help="Milvus server for --vector-store milvus, e.g. http://localhost:19530; default "
             "$AIPATH_MILVUS_URI (a token, if the server wants one, comes from "
             "AIPATH_MILVUS_TOKEN).")] = "",
    home: HomeOption = None,
) -> None:
    """Create an empty knowledge base."""
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError, Settings

    milvus_uri = _milvus_uri(vector_store, milvus_uri)
    with user_errors(AssertionError):
        settings = Settings(embedder, index, chunker, chunk_tokens, overlap, dense_window_tokens,
                            vector_store, milvus_uri)
    with user_errors(KnowledgeBaseError):
        KnowledgeBase.create(home_dir(home), name, settings).close()
    console.print(f"Created knowledge base [bold]{name}[/]. Next: `aipath kb add {name} PATH…`")


@kb_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Knowledge base to add to.")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).")],
    sync: Annotated[bool, typer.Option(
        "--sync", help="Also remove the documents added from these folders whose files "
                       "have been deleted, so the knowledge base mirrors the folders.")] = False,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Leave out the files of the folders whose path inside the folder "
                          "matches this glob, or that lie in a subfolder matching it; repeat "
                          "for several ('*.html', 'de', '??' for /usr/share/man's "
                          "translations).")] = None,
    keep_copies: Annotated[bool, typer.Option(
        "--keep-copies", help="Add a document even when its text is already in the knowledge "
                              "base in another file (a manual's .txt or PDF beside its HTML).")] = False,
    home: HomeOption = None,
) -> None:
    """Add documents (.txt .rst .md .html .ipynb .pdf .docx .epub, man pages such as ls.1, Info
    manuals such as bash.info, README/NEWS/changelog text files, or any of them .gz:
    /usr/share/man and /usr/share/doc work as they are). Duplicates are skipped, and so are
    copies of stored text in another format (a manual shipped as HTML, .txt and PDF is read
    once, from the HTML); a file edited since it was added, or read by an older aipath's
    loaders, replaces its old version; bad files are reported and change nothing. Run it
    again on the same folders to pick up changes (--sync: deletions too)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from aipath.rag.embeddings import EmbeddingError
    from aipath.rag.ingest import SourceFile, add_documents, remove_missing
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError
    from aipath.rag.loaders import SUPPORTED, scan_files

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    files, others, copies = scan_files(paths, exclude or [])
    report_skipped(others, copies)
    if not files and not sync:  # with --sync an emptied folder still removes its documents
        fail(f"no supported files found; supported: {SUPPORTED}")
    with user_errors(KnowledgeBaseError, EmbeddingError):
        kb = KnowledgeBase(home_dir(home), name)
        columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            sources = [SourceFile.from_path(p, _base_of(p, paths)) for p in files]
            report = add_documents(kb, sources, progress, keep_copies=keep_copies)
        removed = remove_missing(kb, [p for p in paths if p.is_dir()]) if sync else []
    for doc_name, doc_id, n in report.added:
        console.print(f"[green]added[/]     {doc_name}  (id {doc_id}, {n} chunks)")
    for doc_name, doc_id, n in report.updated:
        console.print(f"[cyan]updated[/]   {doc_name}  (id {doc_id}, {n} chunks; replaces the "
                      "older version)")
    for doc in removed:
        console.print(f"[magenta]removed[/]   {doc.name}  (its file is gone: {doc.source})")
    for doc_name, existing in report.duplicates:
        console.print(f"[yellow]unchanged[/] {doc_name}  (same content as '{existing}' already stored)")
    for doc_name, original, share in report.copies:
        console.print(f"[yellow]copy[/]      {doc_name}  ({share:.0%} of its text is in '{original}' "
                      "and the documents beside it; --keep-copies adds it anyway)")
    for _, reason in report.skipped:
        console.print(f"[dim]skipped[/]   {reason}")
    for doc_name, reason in report.failed:
        err_console.print(f"[red]failed[/]    {reason}")
    for warning in report.warnings:
        err_console.print(f"[yellow]warning[/]   {warning}")
    console.print(f"{len(report.added)} added, {len(report.updated)} updated, "
                  + (f"{len(removed)} removed, " if sync else "")
                  + f"{len(report.duplicates)} duplicates, "
                  + (f"{len(report.copies)} cop{'y' if len(report.copies) == 1 else 'ies'}, "
                     if report.copies else "")
                  + (f"{len(report.skipped)} skipped, " if report.skipped else "")
                  + f"{len(report.failed)} failed; {kb.chunk_count()} chunks in '{name}'.")
    if report.failed:
        raise typer.Exit(1)


def _base_of(path: Path, roots: list[Path]) -> Path | None:
    """The folder the user named that contains ``path``, for a readable relative name."""
    return next((r for r in roots if r.is_dir() and path.is_relative_to(r)), None)


@kb_app.command("list")
def list_(home: HomeOption = None) -> None:
    """List knowledge bases with their size and embedding model."""
    from rich.table import Table

    from aipath.rag.kb import KnowledgeBase, list_knowledge_bases

    root = home_dir(home)
    names = list_knowledge_bases(root)
    if not names:
        console.print("No knowledge bases yet. Create one: `aipath kb create NAME`")
        return
    table = Table("name", "documents", "chunks", "embedder", "index")
    for kb_name in names:
        kb = KnowledgeBase(root, kb_name)
        meta = kb.meta
        table.add_row(kb_name, str(len(kb.documents())), str(kb.chunk_count()),
                      meta.get("embedder_name") or meta["embedder"], kb.index_label())
        kb.close()
    console.print(table)


@kb_app.command("docs")
def docs(name: Annotated[str, typer.Argument(help="Knowledge base.")], home: HomeOption = None) -> None:
    """List the documents of a knowledge base."""
    from rich.table import Table

    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError

    with user_errors(KnowledgeBaseError):
        kb = KnowledgeBase(home_dir(home), name)
    table = Table("id", "name", "chunks", "bytes", "title")
    for doc in kb.documents():
        table.add_row(str(doc.id), doc.name, str(doc.n_chunks), str(doc.size), doc.title[:60])
    console.print(table)


@kb_app.command("rm")
def rm(
    name: Annotated[str, typer.Argument(help="Knowledge base.")],
    doc: Annotated[str, typer.Argument(help="Document id or name (see `aipath kb docs`).")],
    home: HomeOption = None,
) -> None:
    """Remove one document and its chunks."""
    from aipath.rag.ingest import remove_document
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError

    with user_errors(KnowledgeBaseError):
        removed = remove_document(KnowledgeBase(home_dir(home), name), doc)
    console.print(f"Removed {removed.name} ({removed.n_chunks} chunks).")


@kb_app.command("drop")
def drop(
    name: Annotated[str, typer.Argument(help="Knowledge base to delete, with all its data.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    home: HomeOption = None,
) -> None:
    """Delete a knowledge base entirely."""
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError

    if not yes and not typer.confirm(f"Delete knowledge base '{name}' and all its data?"):
        raise typer.Exit(1)
    with user_errors(KnowledgeBaseError):
        KnowledgeBase.drop(home_dir(home), name)
    console.print(f"Dropped '{name}'.")


@kb_app.command("reembed")
def reembed_(
    name: Annotated[str, typer.Argument(help="Knowledge base.")],
    embedder: Annotated[str, typer.Argument(help="New embedder: minilm, minilm-int8, mpnet, e5, e5-int8, tei:URL, openai:URL#MODEL.")],
    home: HomeOption = None,
) -> None:
    """Re-embed every chunk with another embedding model (the old index serves until done)."""
    from aipath.rag.embeddings import EmbeddingError
    from aipath.rag.ingest import reembed
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError

    with user_errors(KnowledgeBaseError, EmbeddingError):
        n = reembed(KnowledgeBase(home_dir(home), name), embedder)
    console.print(f"Re-embedded {n} chunks of '{name}' with {embedder}.")


@kb_app.command("move")
def move(
    name: Annotated[str, typer.Argument(help="Knowledge base.")],
    vector_store: Annotated[str, typer.Option(
        help="Where the vectors go: milvus (the server --milvus-uri names, else a Milvus Lite "
             "file inside the knowledge base) or faiss (files beside it).")],
    milvus_uri: Annotated[str, typer.Option(
        help="Milvus server for --vector-store milvus, e.g. http://localhost:19530; default "
             "$AIPATH_MILVUS_URI.")] = "",
    home: HomeOption = None,
) -> None:
    """Move the vectors to another store without embedding again: copied, switched to in one
    commit (the old store serves until then), then deleted from the old store."""
    from aipath.rag.ingest import move_vectors
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError

    milvus_uri = _milvus_uri(vector_store, milvus_uri)
    with user_errors(KnowledgeBaseError, AssertionError):
        kb = KnowledgeBase(home_dir(home), name)
        n = move_vectors(kb, vector_store, milvus_uri)
    where = "FAISS files" if vector_store == "faiss" else kb.index_label()
    console.print(f"Moved {n} vectors of '{name}' to {where}.")


def _milvus_uri(vector_store: str, given: str) -> str:
    """--milvus-uri, else $AIPATH_MILVUS_URI for a Milvus store (a FAISS one takes none)."""
    return given or (os.environ.get("AIPATH_MILVUS_URI", "") if vector_store == "milvus" else "")
