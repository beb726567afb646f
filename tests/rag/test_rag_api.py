"""The REST API: the happy path, and every kind of bad input leaves stored data untouched."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aipath.app.api import create_app
from aipath.app.settings import AppSettings

from .conftest import CORPUS


@pytest.fixture()
def client(home: Path) -> TestClient:
    app = create_app(AppSettings(home=home, max_upload_bytes=4096))
    with TestClient(app) as c:
        yield c


def _upload(client: TestClient, kb: str, *files: tuple[str, bytes]):
    return client.post(f"/v1/kb/{kb}/documents",
                       files=[("files", (name, data, "application/octet-stream")) for name, data in files])


def _state(client: TestClient, kb: str) -> tuple:
    docs = client.get(f"/v1/kb/{kb}/documents").json()
    info = client.get(f"/v1/kb/{kb}").json()
    return [(d["name"], d["sha256"]) for d in docs], info["chunks"]


@pytest.fixture()
def filled(client: TestClient) -> TestClient:
    assert client.post("/v1/kb", json={"name": "docs", "embedder": "minilm"}).status_code == 201
    response = _upload(client, "docs", *[(n, t.encode()) for n, t in CORPUS.items()])
    assert response.status_code == 200, response.text
    assert len(response.json()["added"]) == 4
    return client


def test_create_upload_query_delete(filled: TestClient) -> None:
    client = filled
    kbs = client.get("/v1/kb").json()
    assert kbs == [{"name": "docs", "documents": 4, "chunks": kbs[0]["chunks"],
                    "embedder": "all-MiniLM-L6-v2", "index": "flat"}]
    result = client.post("/v1/kb/docs/query", json={"query": "BM25 parameters k1", "top_k": 2}).json()
    top = result["chunks"][0]
    assert top["document"] == "bm25.txt" and top["number"] == 1 and top["bm25"] > 0
    assert "retrieve" in result["timings"] and result["warnings"] == []
    chinese_question = client.post("/v1/kb/docs/query", json={"query": "BM25 的 k1 参数通常取多少？"}).json()
    assert chinese_question["chunks"][0]["document"] == "bm25.txt"  # found by its English words
    assert "aipath kb reembed docs e5" in chinese_question["warnings"][0]  # MiniLM reads English only
    assert result["keywords"] == "BM25 parameters k1"  # same language: the query as asked
    assert chinese_question["keywords"].startswith("BM25 的 k1 参数通常取多少？ ")  # and its English glosses
    assert "parameter" in chinese_question["keywords"]
    again = _upload(client, "docs", ("bm25-copy.txt", CORPUS["bm25.txt"].encode())).json()
    assert again == {"added": [], "duplicates": [{"name": "bm25-copy.txt", "existing": "bm25.txt"}],
                     "copies": [], "warnings": []}
    chinese = _upload(client, "docs", ("zh.txt", "向量数据库用于存储和检索嵌入向量。".encode())).json()
    assert [d["name"] for d in chinese["added"]] == ["zh.txt"]
    assert "aipath kb reembed docs e5" in chinese["warnings"][0]  # MiniLM knows English only
    doc_id = next(d["id"] for d in client.get("/v1/kb/docs/documents").json() if d["name"] == "bm25.txt")
    assert client.delete(f"/v1/kb/docs/documents/{doc_id}").status_code == 204
    assert client.delete(f"/v1/kb/docs/documents/{doc_id}").status_code == 404
    assert len(client.get("/v1/kb/docs/documents").json()) == 4
    assert client.delete("/v1/kb/docs").status_code == 204
    assert client.get("/v1/kb").json() == []


def test_ask_without_relevant_sources_says_so(filled: TestClient) -> None:
    body = filled.post("/v1/kb/docs/ask", json={"question": "Who won the 1998 football world cup?"}).json()
    assert body["found"] is False and body["sources"] == []
    assert "could not find" in body["answer"]


@pytest.mark.parametrize("name,data,status,message", [
    ("bad.pdf", b"%PDF-1.4 this is not a pdf", 400, "not a readable PDF"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 400, "binary"),
    ("empty.md", b"", 400, "empty"),
    ("sheet.xlsx", b"a,b", 415, "unsupported file type"),
    ("data.json.gz", gzip.compress(b"{}"), 415, "unsupported file type"),
    ("notes.txt.gz", b"not gzip", 400, "not a valid gzip file"),
    ("huge.txt", b"word " * 2000, 413, "upload limit"),
    ("lzcat.1", b".so man1/xz.1\n", 400, "only points to another one (man1/xz.1)"),
    ("notes.1.gz", gzip.compress(b"plain notes\n"), 400, "not a man page"),
    ("..", b"text", 400, "invalid file name"),
])
def test_bad_uploads_are_rejected_and_change_nothing(filled: TestClient, name, data, status, message) -> None:
    before = _state(filled, "docs")
    response = _upload(filled, "docs", ("good.txt", b"A perfectly fine new document."), (name, data))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert message in error["message"] and error["code"] == status
    assert _state(filled, "docs") == before
    assert filled.get("/health").json() == {"status": "ok"}  # still serving


def test_a_gzip_compressed_upload_is_read_as_the_file_inside(filled: TestClient) -> None:
    text = "Zebra crossings are painted in alternating stripes."
    response = _upload(filled, "docs", ("stripes.md.gz", gzip.compress(f"# Zebras\n\n{text}".encode())))
    assert response.status_code == 200, response.text
    assert response.json()["added"][0]["name"] == "stripes.md.gz"
    top = filled.post("/v1/kb/docs/query", json={"query": "zebra crossing stripes", "top_k": 1}).json()["chunks"][0]
    assert top["document"] == "stripes.md.gz" and top["heading"] == "Zebras" and text in top["text"]


def test_path_tricks_in_file_names_are_neutralised(filled: TestClient, home: Path) -> None:
    response = _upload(filled, "docs", ("../../../escape.txt", b"Escaped content about tricks."))
    assert response.status_code == 200
    assert response.json()["added"][0]["name"] == "escape.txt"
    assert not (home.parent / "escape.txt").exists() and not (home / "escape.txt").exists()


def test_malformed_json_and_bad_parameters(filled: TestClient) -> None:
    response = filled.post("/v1/kb/docs/query", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and "malformed JSON" in response.json()["error"]["message"]
    response = filled.post("/v1/kb/docs/query", json={"query": "x", "mode": "magic"})
    assert response.status_code == 422 and "mode" in response.json()["error"]["message"]
    response = filled.post("/v1/kb/docs/query", json={"query": ""})
    assert response.status_code == 422
    assert filled.post("/v1/kb/missing/query", json={"query": "x"}).status_code == 404
    assert filled.post("/v1/kb", json={"name": "../x"}).status_code == 400
    assert filled.post("/v1/kb", json={"name": "docs"}).status_code == 409


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/kb", "/v1/kb/{name}/documents", "/v1/kb/{name}/query", "/v1/kb/{name}/ask"} <= set(paths)


@pytest.mark.slow
def test_ask_streamed_equals_non_streamed_with_local_model(filled: TestClient) -> None:
    question = {"question": "What are the usual BM25 parameters?", "max_tokens": 48}
    plain = filled.post("/v1/kb/docs/ask", json=question).json()
    assert plain["found"] and plain["sources"] and plain["answer"].strip()
    assert {"retrieve", "first_token", "generate"} <= set(plain["timings"])
    with filled.stream("POST", "/v1/kb/docs/ask", json={**question, "stream": True}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(e["text"] for e in events if e["type"] == "delta")
    done = events[-1]
    assert done["type"] == "done" and text == done["answer"] == plain["answer"]
    assert done["citations"] == plain["citations"]


def test_an_empty_knowledge_base_answers_with_nothing(client: TestClient) -> None:
    client.post("/v1/kb", json={"name": "empty"})
    for mode in ("hybrid", "bm25", "dense"):
        response = client.post("/v1/kb/empty/query", json={"query": "anything", "mode": mode})
        assert response.status_code == 200 and response.json()["chunks"] == []
    body = client.post("/v1/kb/empty/ask", json={"question": "anything?"}).json()
    assert body["found"] is False


def test_an_upload_that_repeats_stored_text_in_another_format_is_reported_not_added(client: TestClient) -> None:
    from .test_rag_kb import _manual_chapter

    text = _manual_chapter(1)
    assert client.post("/v1/kb", json={"name": "faq", "embedder": "minilm"}).status_code == 201
    assert len(_upload(client, "faq", ("basics.html", f"<h1>Basics</h1><p>{text}</p>".encode())).json()["added"]) == 1
    again = _upload(client, "faq", ("faq.txt", f"Basics\n\n{text}\n".encode())).json()
    assert again["added"] == [] and again["copies"] == [{"name": "faq.txt", "existing": "basics.html"}]
    assert [d["name"] for d in client.get("/v1/kb/faq/documents").json()] == ["basics.html"]
