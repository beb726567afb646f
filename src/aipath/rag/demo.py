"""The demo knowledge base: the project's own notes on the learning path's topics."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aipath.rag.ingest import SourceFile, add_documents
from aipath.rag.kb import KnowledgeBase, Settings, list_knowledge_bases

DEMO_NAME = "demo"


def demo_files() -> list[SourceFile]:
    folder = resources.files("aipath") / "data" / "demo"
    return [SourceFile(name=f.name, data=f.read_bytes(), source=f"aipath/data/demo/{f.name}",
                       versioned=True)  # a newer aipath's notes replace the older ones
            for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".md")]


def ensure_demo_kb(home: Path) -> tuple[KnowledgeBase, int]:
    """Open the demo knowledge base, creating or topping it up; return it and the number of
    notes added or updated.

    The notes are in English and Chinese, so the multilingual embedder is used.
    """
    if DEMO_NAME not in list_knowledge_bases(home):
        KnowledgeBase.create(home, DEMO_NAME, Settings(embedder="e5")).close()
    kb = KnowledgeBase(home, DEMO_NAME)
    report = add_documents(kb, demo_files())
    return kb, len(report.added) + len(report.updated)
