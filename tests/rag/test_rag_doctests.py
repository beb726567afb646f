"""The worked examples in the rag modules' docstrings are executed, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["aipath.rag.fusion", "aipath.rag.text_analysis", "aipath.rag.chunking",
           "aipath.rag.pdf_loader", "aipath.rag.rst_loader", "aipath.rag.document",
           "aipath.rag.evaluation", "aipath.rag.windows", "aipath.rag.extract",
           "aipath.rag.e5_weights", "aipath.rag.mpnet_weights", "aipath.rag.script",
           "aipath.rag.embeddings", "aipath.rag.loaders", "aipath.rag.decoding", "aipath.rag.glossary",
           "aipath.rag.retriever", "aipath.rag.roff", "aipath.rag.man_loader", "aipath.rag.mdoc", "aipath.rag.info_loader",
           "aipath.rag.copies", "aipath.rag.html_loader", "aipath.rag.notebook_loader", "aipath.rag.release_notes",
           "aipath.app.uploads"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
