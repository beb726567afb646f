"""Milvus as the vector store (Milvus Lite in a file): the same answers as FAISS, and
changes that stay atomic although Milvus and SQLite commit separately.

The knowledge-base tests of test_rag_kb.py that matter for both stores (add, replace,
failure during commit, concurrent writers, re-embedding) also run on Milvus through the
``vector_store`` fixture; these are the Milvus-only ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from aipath.app.api import create_app
from aipath.app.settings import AppSettings
from aipath.rag import bm25_index, ingest
from aipath.rag.dense_index import DenseIndex
from aipath.rag.errors import VectorStoreError
from aipath.rag.ingest import SourceFile, add_documents, move_vectors, reembed, remove_document
from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError, Settings
from aipath.rag.milvus_index import MilvusIndex, client, release
from aipath.rag.retriever import SearchConfig, search
from aipath.rag.vector_store import MilvusStore

from .conftest import CORPUS
from .test_rag_kb import _files, _snapshot, stored_vector_ids


def _unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture()
def milvus_kb(home: Path, corpus: Path, milvus_settings: dict[str, str]) -> KnowledgeBase:
    kb = KnowledgeBase.create(home, "m", Settings(embedder="minilm", **milvus_settings))
    add_documents(kb, _files(corpus))
    return kb


@pytest.fixture()
def milvus_uri(tmp_path: Path, milvus_settings: dict[str, str]) -> str:
    return milvus_settings["milvus_uri"] or str(tmp_path / "v.db")


def _collections(kb: KnowledgeBase) -> list[str]:
    prefix = kb.meta["milvus_prefix"]
    return sorted(n for n in client(kb.vectors.uri).list_collections() if n.startswith(prefix))


def _collection_name() -> str:
    return f"test_{uuid.uuid4().hex}"  # a shared server may hold earlier runs' collections


@pytest.mark.parametrize("k", [1, 5, 40])
def test_flat_search_equals_faiss_exact_search(milvus_uri: str, k: int) -> None:
    """Several vectors a chunk id (dense windows): each id once, scored by its best vector."""
    rng = np.random.default_rng(k)
    vectors, ids = _unit_rows(rng, 300, 16), rng.integers(0, 120, size=300).tolist()
    milvus = MilvusIndex(milvus_uri, _collection_name(), 16)
    milvus.create()
    milvus.insert(ids, vectors)
    faiss = DenseIndex(16)
    faiss.add(ids, vectors)
    assert len(milvus) == len(faiss) == 300
    for query in _unit_rows(rng, 5, 16):
        ours, exact = milvus.search(query, k), faiss.search(query, k)
        assert [i for i, _ in ours] == [i for i, _ in exact]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in exact], rtol=0, atol=1e-5)


def test_hnsw_search_scores_exactly_and_finds_the_true_neighbours(milvus_uri: str) -> None:
    rng = np.random.default_rng(0)
    vectors = _unit_rows(rng, 500, 16)
    milvus = MilvusIndex(milvus_uri, _collection_name(), 16, kind="hnsw")
    milvus.create()
    milvus.insert(list(range(500)), vectors)
    found = 0
    for query in _unit_rows(rng, 10, 16):
        hits = milvus.search(query, 10)
        exact = set(np.argsort(-(vectors @ query))[:10].tolist())
        np.testing.assert_allclose([s for _, s in hits], [vectors[i] @ query for i, _ in hits], atol=1e-5)
        found += len(exact & {i for i, _ in hits})
    assert found / 100 >= 0.95


def test_milvus_and_faiss_knowledge_bases_rank_the_same(home: Path, corpus: Path,
                                                       milvus_settings: dict[str, str]) -> None:
    results = []
    for name, settings in (("faiss", {}), ("milvus", milvus_settings)):
        kb = KnowledgeBase.create(home, name, Settings(embedder="minilm", **settings))
        add_documents(kb, _files(corpus))
        hits = search(kb, "similarity search of dense vectors", SearchConfig(top_k=10)).hits
        results.append([(h.chunk.text, round(h.score, 5), round(h.dense, 5)) for h in hits])
    assert results[0] == results[1] and len(results[0]) == 4


def test_chunk_ids_are_never_given_out_twice(milvus_kb: KnowledgeBase) -> None:
    before = max(stored_vector_ids(milvus_kb))
    remove_document(milvus_kb, "lora.html")  # the last document: its ids were the highest
    report = add_documents(milvus_kb, [SourceFile("new.txt", b"A new note about LoRA ranks.")])
    new_ids = {row[0] for row in milvus_kb.db.execute("SELECT id FROM chunks WHERE doc_id = ?",
                                                       (report.added[0][1],))}
    assert min(new_ids) > before
    assert stored_vector_ids(milvus_kb) == {r[0] for r in milvus_kb.db.execute("SELECT id FROM chunks")}


def test_a_crash_after_a_delete_commits_is_tidied_by_the_next_change(
        milvus_kb: KnowledgeBase, monkeypatch) -> None:
    """The rows are gone but Milvus still holds their vectors (the process died before
    ``settle``): searches skip them, and the next change drops them."""
    settle = MilvusStore.settle
    monkeypatch.setattr(MilvusStore, "settle", lambda self: None)
    remove_document(milvus_kb, "faiss.md")
    monkeypatch.setattr(MilvusStore, "settle", settle)
    rows = {r[0] for r in milvus_kb.db.execute("SELECT id FROM chunks")}
    assert stored_vector_ids(milvus_kb) > rows  # the deleted chunk's vectors are still there
    assert milvus_kb.db.execute("SELECT COUNT(*) FROM vector_deletes").fetchone()[0] > 0
    hits = search(milvus_kb, "FAISS similarity search", SearchConfig(mode="dense", top_k=10)).hits
    assert len(hits) == 3 and all(h.chunk.source != "faiss.md" for h in hits)
    add_documents(milvus_kb, [SourceFile("new.txt", b"Backups run every night.")])
    assert stored_vector_ids(milvus_kb) == {r[0] for r in milvus_kb.db.execute("SELECT id FROM chunks")}
    assert milvus_kb.db.execute("SELECT COUNT(*) FROM vector_deletes").fetchone()[0] == 0


def test_vectors_of_a_failed_add_never_reach_a_search(milvus_kb: KnowledgeBase, monkeypatch) -> None:
    """The add fails after Milvus took its vectors, and tidying fails too (Milvus gone): the
    stray vectors, which match the question best, take no place in the results."""
    before = _snapshot(milvus_kb)

    def crash(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr(bm25_index.BM25Index, "save", crash)
    monkeypatch.setattr(KnowledgeBase, "_settle_after_failure", lambda self: None)
    stray = SourceFile("stray.txt", b"Vector database: a database of vectors, for vector search.")
    with pytest.raises(OSError, match="disk full"):
        add_documents(milvus_kb, [stray])
    monkeypatch.undo()
    assert max(stored_vector_ids(milvus_kb)) > milvus_kb.meta["last_chunk_id"]
    assert _snapshot(milvus_kb) == before
    assert len(add_documents(milvus_kb, [stray]).added) == 1
    assert stored_vector_ids(milvus_kb) == {r[0] for r in milvus_kb.db.execute("SELECT id FROM chunks")}


def test_reembedding_fills_a_new_collection_and_drops_the_old(milvus_kb: KnowledgeBase) -> None:
    old = _collections(milvus_kb)
    before = search(milvus_kb, "BM25 parameters", SearchConfig(top_k=3)).hits[0].chunk.source
    reembed(milvus_kb, "minilm-int8")
    assert _collections(milvus_kb) == [milvus_kb.meta["milvus_collection"]] != old
    assert search(milvus_kb, "BM25 parameters", SearchConfig(top_k=3)).hits[0].chunk.source == before


def test_drop_removes_the_collections_and_the_name_can_be_used_again(
        home: Path, milvus_kb: KnowledgeBase, milvus_settings: dict[str, str]) -> None:
    prefix = milvus_kb.meta["milvus_prefix"]
    assert _collections(milvus_kb)
    KnowledgeBase.drop(home, "m")
    assert not (home / "kb" / "m").exists()
    again = KnowledgeBase.create(home, "m", Settings(embedder="minilm", **milvus_settings))
    assert _collections(again) == []
    assert len(add_documents(again, [SourceFile("a.txt", b"Hello vectors.")]).added) == 1
    assert not any(n.startswith(prefix) for n in client(again.vectors.uri).list_collections())


def _in_another_process(code: str, home: Path, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "AIPATH_HOME": str(home)}
    args = [sys.executable, "-c", textwrap.dedent(code)]
    if kwargs.pop("background", False):
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def test_the_lite_file_persists_and_a_second_process_is_told_what_to_do(
        home: Path, corpus: Path, monkeypatch) -> None:
    milvus_kb = KnowledgeBase.create(home, "m", Settings(embedder="minilm", vector_store="milvus"))
    add_documents(milvus_kb, _files(corpus))
    expected = search(milvus_kb, "BM25 parameters", SearchConfig(top_k=1)).hits[0].chunk.source
    release(str(milvus_kb.path / "milvus.db"))  # this process lets go: Milvus Lite admits one
    query = """
        from aipath.cli import main; import sys
        sys.argv = ["aipath", "query", "m", "BM25 parameters", "--top-k", "1"]
        main()
    """
    reopened = _in_another_process(query, home)
    assert reopened.returncode == 0, reopened.stderr
    assert expected in reopened.stdout
    holder = _in_another_process("""
        import os, time
        from pathlib import Path
        from aipath.rag.kb import KnowledgeBase
        KnowledgeBase(Path(os.environ["AIPATH_HOME"]), "m").indexes()
        print("open", flush=True)
        time.sleep(60)
    """, home, background=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        kb = KnowledgeBase(home, "m")
        with pytest.raises(VectorStoreError, match="one process at a time"):
            kb.indexes()

        def embed(*args, **kwargs):
            raise AssertionError("embedded before finding Milvus out of reach")

        monkeypatch.setattr(ingest, "_embed_windows", embed)
        with pytest.raises(VectorStoreError, match="one process at a time"):
            add_documents(kb, [SourceFile("late.txt", b"A document that waits for its turn.")])
        refused = _in_another_process(query, home)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "Milvus Lite serves one process at a time" in " ".join(refused.stderr.split())
    finally:
        holder.kill()
        holder.wait()


def test_milvus_errors_are_reported_as_vector_store_errors(milvus_uri: str) -> None:
    missing = MilvusIndex(milvus_uri, _collection_name(), 16)
    with pytest.raises(VectorStoreError, match=f"Milvus at {milvus_uri} failed to search"):
        missing.search(np.ones(16, dtype=np.float32) / 4, 3)


def test_settings_name_a_milvus_server_or_nothing(home: Path) -> None:
    with pytest.raises(AssertionError, match="not a Milvus server URI"):
        Settings(vector_store="milvus", milvus_uri="/etc/passwd.db")
    with pytest.raises(AssertionError, match="needs --vector-store milvus"):
        Settings(milvus_uri="http://localhost:19530")
    kb = KnowledgeBase.create(home, "remote", Settings(vector_store="milvus", milvus_uri="http://127.0.0.1:9"))
    assert kb.index_label() == "milvus flat @ http://127.0.0.1:9"
    with pytest.raises(VectorStoreError, match="cannot reach Milvus at http://127.0.0.1:9"):
        add_documents(kb, [SourceFile("a.txt", b"Hello vectors.")])
    assert kb.documents() == []


def test_the_api_keeps_a_milvus_knowledge_base(home: Path) -> None:
    with TestClient(create_app(AppSettings(home=home, max_upload_bytes=4096))) as api:
        made = api.post("/v1/kb", json={"name": "docs", "embedder": "minilm", "vector_store": "milvus"})
        assert made.status_code == 201 and made.json()["index"] == "milvus flat @ milvus.db"
        files = [("files", (n, t.encode(), "application/octet-stream")) for n, t in CORPUS.items()]
        assert api.post("/v1/kb/docs/documents", files=files).status_code == 200
        top = api.post("/v1/kb/docs/query", json={"query": "BM25 parameters k1", "top_k": 2}).json()
        assert top["chunks"][0]["document"] == "bm25.txt" and top["chunks"][0]["dense"] > 0
        bad = [("files", ("x.pdf", b"%PDF-1.7 broken", "application/pdf"))]
        assert api.post("/v1/kb/docs/documents", files=bad).status_code == 400
        assert api.get("/v1/kb/docs").json()["documents"] == 4
        assert api.delete("/v1/kb/docs").status_code == 204
        assert api.get("/v1/kb").json() == []


def _rankings(kb: KnowledgeBase) -> list:
    questions = ["similarity search of dense vectors", "BM25 parameters k1", "向量数据库", "LoRA rank"]
    return [[(h.chunk.id, round(h.score, 5), round(h.dense, 5)) for h in
             search(kb, q, SearchConfig(top_k=4)).hits] for q in questions]


def test_moving_the_vectors_there_and_back_keeps_every_ranking(
        home: Path, corpus: Path, milvus_settings: dict[str, str]) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, _files(corpus))
    before, windows = _rankings(kb), len(kb.indexes()[0])
    reader = KnowledgeBase(home, "t")  # another client, open before the move
    assert _rankings(reader) == before
    uri = milvus_settings["milvus_uri"]
    assert move_vectors(kb, "milvus", uri) == windows
    assert kb.meta["vector_store"] == "milvus" and kb.index_label().startswith("milvus flat @")
    assert _rankings(kb) == _rankings(reader) == before  # the reader follows the move
    assert len(_collections(kb)) == 1 and len(kb.indexes()[0]) == windows
    add_documents(kb, [SourceFile("new.txt", b"Backups run every night.")])
    assert stored_vector_ids(kb) == {r[0] for r in kb.db.execute("SELECT id FROM chunks")}
    remove_document(kb, "new.txt")
    with pytest.raises(KnowledgeBaseError, match="already keeps its vectors there"):
        move_vectors(kb, "milvus", uri)
    prefix, milvus = kb.meta["milvus_prefix"], kb.vectors.uri
    assert move_vectors(kb, "faiss") == windows
    assert kb.meta["vector_store"] == "faiss" and _rankings(kb) == before
    if not uri:
        assert not (kb.path / "milvus.db").exists()  # the Lite file went with its vectors
    else:
        assert not [n for n in client(milvus).list_collections() if n.startswith(prefix)]


def test_a_failed_move_leaves_the_vectors_where_they_were(home: Path, corpus: Path, monkeypatch) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, _files(corpus))
    before = _rankings(kb)

    def crash(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr(bm25_index.BM25Index, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        move_vectors(kb, "milvus")
    monkeypatch.undo()
    assert kb.meta["vector_store"] == "faiss" and _rankings(kb) == before
    assert not (kb.path / "milvus.db").exists()


def test_an_empty_knowledge_base_moves_its_setting_only_and_the_cli_says_so(home: Path) -> None:
    from typer.testing import CliRunner

    from aipath.cli import app

    KnowledgeBase.create(home, "e").close()
    result = CliRunner().invoke(app, ["kb", "move", "e", "--vector-store", "milvus", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "Moved 0 vectors of 'e' to milvus flat @ milvus.db" in " ".join(result.output.split())
    kb = KnowledgeBase(home, "e")
    assert kb.meta["vector_store"] == "milvus"
    assert len(add_documents(kb, [SourceFile("a.txt", b"Hello vectors.")]).added) == 1
    assert search(kb, "hello", SearchConfig(mode="dense", top_k=1)).hits[0].chunk.source == "a.txt"
    refused = CliRunner().invoke(app, ["kb", "move", "e", "--vector-store", "milvus", "--milvus-uri",
                                       "/tmp/x.db", "--home", str(home)])
    assert refused.exit_code == 1 and "not a Milvus server URI" in " ".join(refused.output.split())


def test_two_clients_moving_at_once_lose_no_vectors(home: Path, corpus: Path, monkeypatch) -> None:
    """The second move finds the knowledge base changed and gives up, leaving the vectors the
    first one moved in place."""
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, _files(corpus))
    before, rival = _rankings(kb), KnowledgeBase(home, "t")
    rows = DenseIndex.rows

    def rows_while_a_rival_moves(self):
        monkeypatch.setattr(DenseIndex, "rows", rows)
        move_vectors(rival, "milvus")
        return rows(self)

    monkeypatch.setattr(DenseIndex, "rows", rows_while_a_rival_moves)
    with pytest.raises(KnowledgeBaseError, match="changed while its vectors were copied"):
        move_vectors(kb, "milvus")
    assert kb.meta["vector_store"] == "milvus" and _rankings(kb) == before
