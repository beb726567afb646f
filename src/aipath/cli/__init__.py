"""The ``aipath`` command line: one Typer app, one sub-module per area.

Each sub-module exposes ``register(app)`` and keeps heavy imports (torch, faiss,
transformers) inside its commands, so ``aipath --help`` answers instantly.
"""

from __future__ import annotations

import os

import typer

from aipath.cli import bench, kb, labs, llm, qa, serve_llm
from aipath.cli.common import print_error
from aipath.rag.errors import VectorStoreError

app = typer.Typer(
    name="aipath",
    help=(
        "The AI-engineer learning path as working software.\n\n"
        "Document QA: `aipath kb create docs && aipath kb add docs ./my-files && "
        "aipath ask docs \"question\"`.  LLM stack: `aipath generate`, `aipath chat`.  "
        "Labs: `aipath plan`, `aipath lab w1d1`."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
)

for module in (kb, qa, llm, labs, bench, serve_llm):
    module.register(app)


def main() -> None:
    # transformers' own "Loading weights" bar would break into our rich progress bars and
    # answers; loading from local files takes well under a second anyway.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        app()
    except VectorStoreError as exc:  # any command that reads or writes vectors kept in Milvus
        print_error(str(exc))
        raise SystemExit(1) from None
