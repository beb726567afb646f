"""`aipath demo`, the first thing `make run` does: the bundled notes become a knowledge base
that answers in both languages, a second run adds nothing, and the printed next steps
point at the same data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aipath.cli import app
from aipath.rag.demo import DEMO_NAME, demo_files
from aipath.rag.kb import KnowledgeBase
from aipath.rag.retriever import SearchConfig, search


@pytest.mark.slow
def test_demo_builds_a_bilingual_knowledge_base_once(tmp_path: Path) -> None:
    home = tmp_path / "data home"
    first = CliRunner().invoke(app, ["demo", "--no-serve", "--home", str(home)])
    assert first.exit_code == 0, first.output
    notes = demo_files()
    assert f"{len(notes)} documents" in first.output and "(just built)" in first.output
    assert f"aipath ask demo \"什么是 PagedAttention？\" --home '{home}'" in first.output
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--home", str(home)])
    assert again.exit_code == 0 and "(just built)" not in again.output

    kb = KnowledgeBase(home, DEMO_NAME)
    assert len(kb.documents()) == len(notes) and kb.meta["embedder"] == "e5"
    zh = search(kb, "什么是 PagedAttention？", SearchConfig(top_k=1)).hits[0]
    en = search(kb, "What is PagedAttention?", SearchConfig(top_k=1)).hits[0]
    assert "PagedAttention" in zh.chunk.text and "PagedAttention" in en.chunk.text
    assert zh.chunk.source.endswith(".zh-CN.md") and en.chunk.source.endswith(".en.md")
