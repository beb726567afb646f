"""Shared CLI pieces: the --home option, console output, and friendly failures."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

HomeOption = Annotated[
    Optional[Path],
    typer.Option("--home", help="Data directory (default: $AIPATH_HOME or ~/.local/share/aipath).",
                 show_default=False),
]
LLMUrlOption = Annotated[
    Optional[str],
    typer.Option("--llm-url", help="OpenAI-compatible endpoint (vLLM, MindIE, Ollama, "
                 "llama.cpp, aipath serve-llm), e.g. http://127.0.0.1:8001/v1. "
                 "Default: $AIPATH_LLM_URL, else the local SmolLM2.", show_default=False),
]
LLMModelOption = Annotated[
    Optional[str], typer.Option("--llm-model", help="Model name at the endpoint ($AIPATH_LLM_MODEL).",
                                show_default=False)]
LLMKeyOption = Annotated[
    Optional[str], typer.Option("--llm-key", help="Bearer key for the endpoint ($AIPATH_LLM_KEY).",
                                show_default=False)]


def home_dir(home: Path | None) -> Path:
    from aipath.config import data_home

    return data_home(home)


def print_error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn the listed exceptions (whose messages say what to do) into a clean exit 1."""
    try:
        yield
    except kinds as exc:
        fail(str(exc))


def report_skipped(others: list[Path], copies: Sequence[Path] = ()) -> None:
    """One line per file type the folders hold but aipath cannot read, with what to do, and
    one for the copies left out (a Sphinx build's ``_sources``)."""
    from collections import Counter

    from aipath.rag.loaders import CONVERT_HINTS

    def kind(path: Path) -> str:  # ".json.gz" says more than ".gz"
        suffixes = path.suffixes[-2:] if path.suffix.lower() == ".gz" else path.suffixes[-1:]
        return "".join(suffixes).lower() or "(none)"

    for suffix, count in Counter(kind(p) for p in others).most_common():
        console.print(f"[yellow]skipped[/]   {count} {suffix} file{'s' * (count > 1)}: "
                      f"not a supported type{CONVERT_HINTS.get(suffix, '')}")
    if copies:
        console.print(f"[yellow]skipped[/]   {len(copies)} file{'s' * (len(copies) > 1)} in a Sphinx build's "
                      "_sources folder: the reST its HTML pages were made from, read from the pages")
