"""Document QA commands: ``ask``, ``query``, ``serve``, ``demo`` and ``eval retrieval``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from aipath.cli.common import (HomeOption, LLMKeyOption, LLMModelOption, LLMUrlOption, console,
                               err_console, fail, home_dir, report_skipped)
from aipath.rag.defaults import CHUNK_OVERLAP, CHUNK_TOKENS, WINDOW_TOKENS

eval_app = typer.Typer(help="Evaluate retrieval quality on labelled questions.", no_args_is_help=True)

ModeOption = Annotated[str, typer.Option(help="hybrid (BM25 + dense, fused), bm25, or dense.")]
TopKOption = Annotated[int, typer.Option("--top-k", help="How many chunks to retrieve.")]


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("query")(query)
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.add_typer(eval_app, name="eval")


def _search_config(mode: str, top_k: int):
    from aipath.rag.retriever import SearchConfig

    try:
        return SearchConfig(mode=mode, top_k=top_k, depth=max(50, top_k))
    except AssertionError as exc:
        fail(str(exc))


def _open_kb(home: Path | None, name: str):
    from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError

    try:
        return KnowledgeBase(home_dir(home), name)
    except KnowledgeBaseError as exc:
        fail(str(exc))


def ask(
    name: Annotated[str, typer.Argument(help="Knowledge base to ask.")],
    question: Annotated[str, typer.Argument(help="Your question, in English or Chinese.")],
    mode: ModeOption = "hybrid",
    top_k: TopKOption = 4,
    max_tokens: Annotated[int, typer.Option(help="Longest answer, in tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 = greedy (reproducible).")] = 0.0,
    rerank_url: Annotated[Optional[str], typer.Option(help="TEI /rerank endpoint.")] = None,
    llm_url: LLMUrlOption = None,
    llm_model: LLMModelOption = None,
    llm_key: LLMKeyOption = None,
    home: HomeOption = None,
) -> None:
    """Answer a question from a knowledge base, streaming, with numbered sources."""
    from aipath.config import LLMEndpoint
    from aipath.rag.answer import Answer, answer_stream
    from aipath.rag.kb import KnowledgeBaseError
    from aipath.rag.rerank import RerankError, TEIReranker
    from aipath.serve.chat_backends import BackendError, get_backend

    kb = _open_kb(home, name)
    config = _search_config(mode, top_k)
    endpoint = LLMEndpoint.from_env(llm_url, llm_model, llm_key)
    try:
        backend = get_backend(endpoint)
        final: Answer | None = None
        waiting = err_console.status("retrieving, then loading the model and reading the sources…")
        waiting.start()
        for event in answer_stream(kb, question, backend, config,
                                   TEIReranker(rerank_url) if rerank_url else None,
                                   max_tokens, temperature):
            waiting.stop()
            if isinstance(event, Answer):
                final = event
            else:
                console.print(event, end="", markup=False, highlight=False, soft_wrap=True)
    except (BackendError, KnowledgeBaseError, RerankError) as exc:
        waiting.stop()
        fail(str(exc))
    console.print()
    assert final is not None
    if final.sources:
        console.print("\n[bold]Sources[/]")
        for i, hit in enumerate(final.sources, 1):
            mark = "*" if i in final.cited else " "
            where = hit.chunk.location or "-"
            snippet = " ".join(hit.chunk.text.split())[:120]
            console.print(f"{mark}[{i}] [cyan]{hit.chunk.source}[/] · {where}\n     {snippet}…",
                          highlight=False)
    timings = "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in final.timings.items())
    console.print(f"\n[dim]{backend.name} · {timings}[/]")
    _print_warnings(final.warnings)


def query(
    name: Annotated[str, typer.Argument(help="Knowledge base to search.")],
    text: Annotated[str, typer.Argument(help="Search text.")],
    mode: ModeOption = "hybrid",
    top_k: TopKOption = 5,
    home: HomeOption = None,
) -> None:
    """Retrieve chunks only (no LLM), with their scores."""
    from aipath.rag.kb import KnowledgeBaseError
    from aipath.rag.retriever import search

    kb = _open_kb(home, name)
    try:
        result = search(kb, text, config := _search_config(mode, top_k))
    except KnowledgeBaseError as exc:
        fail(str(exc))
    for i, hit in enumerate(result.hits, 1):
        where = hit.chunk.location or "-"
        console.print(f"[bold][{i}][/] {hit.score:.3f} (bm25 {hit.bm25:.2f}, dense {hit.dense:.2f}) "
                      f"[cyan]{hit.chunk.source}[/] · {where}", highlight=False)
        console.print("    " + " ".join(hit.chunk.text.split())[:300], highlight=False)
    console.print(f"[dim]retrieve {result.timings['retrieve'] * 1000:.1f} ms[/]")
    if result.keywords != text:  # asked in the other language: say what keyword search looked for
        console.print(f"[dim]keywords: {result.keywords}[/]", highlight=False)
    if result.bm25_weight is not None and result.coverage is not None and \
            result.bm25_weight < config.bm25_weight:
        console.print(f"[dim]keyword search weighted {result.bm25_weight:.2f}: its best match holds "
                      f"{result.coverage:.0%} of the question's words (by idf), so the question "
                      f"is likely worded differently from the documents[/]", highlight=False)
    _print_warnings(result.warnings)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        err_console.print(f"[yellow]note:[/] {warning}", soft_wrap=True, highlight=False)


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    max_upload_mb: Annotated[int, typer.Option(help="Largest accepted upload.")] = 50,
    llm_url: LLMUrlOption = None,
    llm_model: LLMModelOption = None,
    llm_key: LLMKeyOption = None,
    milvus_uri: Annotated[str, typer.Option(
        envvar="AIPATH_MILVUS_URI",
        help="Milvus server (http://HOST:19530) for knowledge bases created through the API "
             "with vector_store milvus; without it they use a Milvus Lite file each.")] = "",
    home: HomeOption = None,
) -> None:
    """Serve the document-QA REST API (OpenAPI docs at /docs)."""
    import uvicorn

    from aipath.app.api import create_app
    from aipath.app.settings import AppSettings
    from aipath.config import LLMEndpoint

    settings = AppSettings(home=home_dir(home), max_upload_bytes=max_upload_mb * 1024 * 1024,
                           llm=LLMEndpoint.from_env(llm_url, llm_model, llm_key),
                           milvus_uri=milvus_uri)
    console.print(f"Document QA API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def demo(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only build the demo knowledge base.")] = False,
    home: HomeOption = None,
) -> None:
    """Build the `demo` knowledge base from the bundled notes, then start the API."""
    from aipath.rag.demo import ensure_demo_kb
    from aipath.rag.retriever import search

    root = home_dir(home)
    with err_console.status("building the demo knowledge base (first run embeds the notes)…"):
        kb, added = ensure_demo_kb(root)
        search(kb, "warm up the segmenter and the embedder")  # so the first real query is fast
    console.print(f"Knowledge base [bold]demo[/]: {len(kb.documents())} documents, "
                  f"{kb.chunk_count()} chunks{' (just built)' if added else ''}.")
    # The hints must reach the same data directory this command used.
    where = f" --home {shlex.quote(str(home))}" if home else ""
    console.print("\nTry, in another terminal:\n"
                  f"  .venv/bin/aipath ask demo \"What is LoRA and why does it save memory?\"{where}\n"
                  f"  .venv/bin/aipath ask demo \"什么是 PagedAttention？\"{where}\n"
                  f"  curl -s http://{host}:{port}/v1/kb/demo/query -H 'content-type: application/json' "
                  "-d '{\"query\": \"BM25\"}'\n", soft_wrap=True)
    if not no_serve:
        serve(host=host, port=port, home=root)


@eval_app.command("retrieval")
def eval_retrieval(
    docs: Annotated[Path, typer.Option(help="Folder of documents to index.", exists=True,
                                       file_okay=False)],
    questions: Annotated[Path, typer.Option(help="JSONL: {\"id\", \"question\", [\"answer\", "
                                            "\"gold_quote\"]} per line; \"answer\" may be a list "
                                            "of accepted answers.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option(help="Where to write one JSON line per question.")],
    mode: ModeOption = "hybrid",
    top_k: TopKOption = 10,
    answer: Annotated[bool, typer.Option("--answer", help=(
        "Also answer each question, from its best 4 sources as `aipath ask` does."))] = False,
    embedder: Annotated[str, typer.Option(help=(
        "Embedder for the throw-away knowledge base; auto: e5 when the documents or the "
        "questions are not in English, else MiniLM; mpnet for English at about 10x the "
        "embedding time."))] = "auto",
    chunk_tokens: Annotated[int, typer.Option(help="Chunk size in tokens.")] = CHUNK_TOKENS,
    chunker: Annotated[str, typer.Option(help="recursive, fixed or sliding.")] = "recursive",
    dense_window_tokens: Annotated[int, typer.Option(
        help="Dense window size in tokens (0: one vector per chunk).")] = WINDOW_TOKENS,
    home: HomeOption = None,
) -> None:
    """Build a throw-away knowledge base from DOCS, retrieve for every question, write OUT,
    and print recall@1/5, MRR@10 and nDCG@10 when questions carry answer + gold_quote."""
    from rich.progress import Progress
    from rich.table import Table

    from aipath.rag.eval_runner import build_eval_kb, eval_embedder, read_questions, run_eval
    from aipath.rag.kb import Settings
    from aipath.rag.loaders import scan_files
    from aipath.serve.chat_backends import get_backend

    if out.is_dir():
        fail(f"--out {out} is a folder; give the path of the JSONL file to write")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create the folder for --out {out}: {exc.strerror}")
    try:
        items = read_questions(questions)
        settings = Settings(embedder=eval_embedder(embedder, items), chunker=chunker, chunk_tokens=chunk_tokens,
                            chunk_overlap=min(CHUNK_OVERLAP, chunk_tokens // 4),
                            dense_window_tokens=dense_window_tokens)
    except (ValueError, AssertionError) as exc:
        fail(str(exc))
    report_skipped(*scan_files([docs])[1:])
    with Progress(console=err_console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            kb = build_eval_kb(home_dir(home), docs, settings, progress)
        except ValueError as exc:
            fail(str(exc))
        backend = get_backend(None) if answer else None
        metrics = run_eval(kb, items, out, _search_config(mode, top_k), backend, progress)
    unreadable = kb.meta.get("unreadable", [])
    for _, reason in unreadable[:10]:
        console.print(f"[yellow]skipped[/]   {reason}")
    if len(unreadable) > 10:
        console.print(f"[yellow]skipped[/]   {len(unreadable) - 10} more files that could not be read")
    if no_text := kb.meta.get("no_text", []):
        many = len(no_text) > 1
        console.print(f"[yellow]skipped[/]   {len(no_text)} file{'s' * many} with no text of {'their' if many else 'its'} own "
                      f"(link pages, generated indexes; e.g. {no_text[0][1]})")
    if copies := kb.meta.get("copies", []):
        console.print(f"[yellow]skipped[/]   {len(copies)} cop{'ies' if len(copies) > 1 else 'y'} of text "
                      f"stored from a better format (e.g. {copies[0][0]}, {copies[0][2]:.0%} in '{copies[0][1]}')")
    console.print(f"Wrote {len(items)} results to {out} ({kb.chunk_count()} chunks, "
                  f"{kb.meta['embedder_name']}, mode {mode}).")
    if metrics:
        table = Table("questions", *metrics.as_row())
        table.add_row(str(metrics.n), *(f"{v:.3f}" for v in metrics.as_row().values()))
        console.print(table)
    elif labelled := sum(q.labelled for q in items):
        console.print(f"[yellow]no metrics[/]: {labelled} of {len(items)} questions carry \"answer\" "
                      "and \"gold_quote\"; every line needs both to be scored")
