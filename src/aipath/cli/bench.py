"""``aipath bench …``: benchmarks, each measured side by side with its peer in one run.

Other areas add their own benchmark to ``bench_app`` from their CLI module.
"""

from __future__ import annotations

import typer

bench_app = typer.Typer(
    help="Benchmarks (not tests): speed and memory side by side with a peer, as ratios.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("rag")
def bench_rag(
    chunks: int = typer.Option(192, help="Chunks of 800 characters to embed per embedder."),
    sizes: str = typer.Option("10000,100000", help="Comma-separated synthetic index sizes."),
    queries: int = typer.Option(100, help="Queries per mode and size."),
    embedder: str = typer.Option("minilm-int8", help="Query embedder for dense/hybrid latency."),
    index: str = typer.Option("flat", help="Vector index of the synthetic knowledge bases: flat or hnsw."),
    vector_stores: str = typer.Option(
        "faiss", help="Comma-separated vector stores to measure on the same data: faiss, milvus "
                      "(given as a ratio to the first)."),
    milvus_uri: str = typer.Option(
        "", envvar="AIPATH_MILVUS_URI",
        help="Milvus server for the milvus store (http://HOST:19530); default Milvus Lite."),
) -> None:
    """Ingestion throughput per embedder and query latency p50/p95 (bm25, dense, hybrid)
    at 10k and 100k chunks, with sentence-transformers and rank_bm25 as peers."""
    from rich.console import Console
    from rich.table import Table

    from aipath.bench.rag import embedding_throughput, query_latency

    console = Console()
    table = Table("measurement", "value", "unit", "note", title="aipath bench rag")
    with console.status("embedding throughput…"):
        rows = embedding_throughput(chunks)
    with console.status("query latency…"):
        rows += query_latency([int(s) for s in sizes.split(",")], queries, embedder, index,
                              tuple(vector_stores.split(",")), milvus_uri)
    for row in rows:
        table.add_row(row.what, f"{row.value:.1f}", row.unit, row.note)
    console.print(table)
