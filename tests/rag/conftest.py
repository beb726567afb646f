"""Shared fixtures for document-QA tests: a scratch data dir and a small bilingual corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = {
    "faiss.md": "# FAISS\n\nFAISS is a library by Meta for efficient similarity search of dense vectors.\n\n"
                "## Index types\n\nIndexFlatIP performs exact inner-product search. "
                "HNSW builds a navigable small-world graph for approximate search.\n",
    "bm25.txt": "BM25 ranks documents by term frequency, inverse document frequency and length "
                "normalisation. The usual parameters are k1 = 1.2 and b = 0.75.\n\n"
                "It needs no neural model and is strong on exact identifiers.\n",
    "milvus.txt": "向量数据库用于存储和检索嵌入向量。\n\nMilvus 是一个开源的分布式向量数据库，"
                  "支持十亿级向量的相似度检索。\n",
    "lora.html": "<html><head><title>LoRA</title></head><body><nav>menu</nav><main>"
                 "<h1>LoRA</h1><p>LoRA freezes the pretrained weights and trains a low-rank "
                 "update with rank r, often 8 or 16.</p><h2>Merging</h2><p>After training the "
                 "update can be merged into the base weight.</p></main></body></html>",
}


def kb_create_and_add(home: Path, name: str, folder: Path) -> tuple[int, str]:
    """``aipath kb create NAME`` then ``aipath kb add NAME FOLDER``: the exit code of the add
    and its output with the line breaks rich wraps at undone."""
    from typer.testing import CliRunner

    from aipath.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["kb", "create", name, "--home", str(home)]).exit_code == 0
    result = runner.invoke(app, ["kb", "add", name, str(folder), "--home", str(home)])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# A Milvus server to run the Milvus tests against as well as Milvus Lite: `make
# test-milvus-server` starts one (the `milvus` PyPI package) and sets this for the run.
MILVUS_SERVER = os.environ.get("AIPATH_TEST_MILVUS_URI", "")
MILVUS_PLACES = ["lite"] + (["server"] if MILVUS_SERVER else [])


@pytest.fixture(params=["faiss", *(f"milvus-{place}" for place in MILVUS_PLACES)])
def vector_store(request) -> dict[str, str]:
    """``Settings`` of each vector store, for the knowledge-base tests that matter for all."""
    if request.param == "faiss":
        return {"vector_store": "faiss"}
    server = request.param == "milvus-server"
    return {"vector_store": "milvus", "milvus_uri": MILVUS_SERVER if server else ""}


@pytest.fixture(params=MILVUS_PLACES)
def milvus_settings(request) -> dict[str, str]:
    """``Settings`` of Milvus Lite, and of the server when one is given."""
    return {"vector_store": "milvus", "milvus_uri": MILVUS_SERVER if request.param == "server" else ""}
