"""The document-QA REST API (FastAPI). OpenAPI docs at ``/docs``.

Errors are always ``{"error": {"message", "type", "code"}}`` with the right status.
Reads share one cached ``KnowledgeBase`` per name (its SQLite connection guarded by a
lock); every write opens its own, so a long upload never blocks queries, and the
per-knowledge-base file lock keeps concurrent writers from losing each other's work.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aipath.app.schemas import (AskRequest, AskResponse, CreateKB, DocumentInfo, ErrorResponse,
                                KBInfo, QueryRequest, QueryResponse, Source, UploadResult)
from aipath.app.settings import AppSettings
from aipath.app.uploads import UploadRejected, read_upload
from aipath.rag.answer import Answer, answer_stream
from aipath.rag.embeddings import EmbeddingError
from aipath.rag.errors import VectorStoreError
from aipath.rag.ingest import add_documents, remove_document
from aipath.rag.kb import KnowledgeBase, KnowledgeBaseError, Settings, list_knowledge_bases
from aipath.rag.retriever import Hit, SearchConfig, search
from aipath.serve.chat_backends import BackendError, get_backend


class APIError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        self.status, self.message, self.kind = status, message, kind


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": {"message": message, "type": kind, "code": status}})


class KBRegistry:
    """Cached readers, one per knowledge base, each with the lock its connection needs."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._readers: dict[str, tuple[KnowledgeBase, threading.Lock]] = {}
        self._guard = threading.Lock()

    def reader(self, name: str) -> tuple[KnowledgeBase, threading.Lock]:
        with self._guard:
            if name not in self._readers:
                self._readers[name] = (self.open(name), threading.Lock())
            return self._readers[name]

    def open(self, name: str) -> KnowledgeBase:
        try:
            return KnowledgeBase(self.settings.home, name)
        except KnowledgeBaseError as exc:
            raise APIError(404, str(exc), "not_found") from exc

    def forget(self, name: str) -> None:
        with self._guard:
            entry = self._readers.pop(name, None)
        if entry:
            with entry[1]:
                entry[0].close()


def _source(number: int, hit: Hit) -> Source:
    c = hit.chunk
    return Source(number=number, chunk_id=c.id, document=c.source, page=c.page, heading=c.heading,
                  start=c.start, end=c.end, text=c.text, score=hit.score, bm25=hit.bm25,
                  dense=hit.dense)


def _answer_body(final: Answer) -> AskResponse:
    return AskResponse(answer=final.text, found=final.found, citations=final.cited,
                       sources=[_source(i, h) for i, h in enumerate(final.sources, 1)],
                       timings=final.timings, warnings=final.warnings)


def create_app(settings: AppSettings) -> FastAPI:
    app = FastAPI(title="aipath document QA",
                  description="Upload documents, ask questions, get answers with citations.",
                  version="0.1.0", responses={400: {"model": ErrorResponse},
                                              404: {"model": ErrorResponse}})
    registry = KBRegistry(settings)
    llm_lock = threading.Lock()  # one generation at a time: the local model uses every core

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.kind)

    @app.exception_handler(VectorStoreError)
    async def vector_store_error(_: Request, exc: VectorStoreError) -> JSONResponse:
        return _error(503, str(exc), "vector_store_unavailable")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed JSON in the request body", "invalid_request_error")
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                           for e in errors)
        return _error(422, detail, "invalid_request_error")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), "http_error")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/kb", response_model=list[KBInfo])
    def list_kbs() -> list[KBInfo]:
        return [kb_info(name) for name in list_knowledge_bases(settings.home)]

    @app.post("/v1/kb", response_model=KBInfo, status_code=201)
    def create_kb(body: CreateKB) -> KBInfo:
        try:
            config = Settings(body.embedder, body.index, body.chunker, body.chunk_tokens,
                              body.chunk_overlap, body.dense_window_tokens, body.vector_store,
                              settings.milvus_uri if body.vector_store == "milvus" else "")
        except AssertionError as exc:
            raise APIError(400, str(exc)) from exc
        try:
            KnowledgeBase.create(settings.home, body.name, config).close()
        except KnowledgeBaseError as exc:
            status = 409 if "already exists" in str(exc) else 400
            raise APIError(status, str(exc)) from exc
        return kb_info(body.name)

    @app.get("/v1/kb/{name}", response_model=KBInfo)
    def kb_info(name: str) -> KBInfo:
        kb, lock = registry.reader(name)
        with lock:
            meta = kb.meta
            return KBInfo(name=name, documents=len(kb.documents()), chunks=kb.chunk_count(),
                          embedder=meta.get("embedder_name") or meta["embedder"], index=kb.index_label())

    @app.delete("/v1/kb/{name}", status_code=204)
    def drop_kb(name: str) -> None:
        registry.forget(name)
        try:
            KnowledgeBase.drop(settings.home, name)
        except KnowledgeBaseError as exc:
            raise APIError(404, str(exc), "not_found") from exc

    @app.get("/v1/kb/{name}/documents", response_model=list[DocumentInfo])
    def list_documents(name: str) -> list[DocumentInfo]:
        kb, lock = registry.reader(name)
        with lock:
            return [DocumentInfo(id=d.id, name=d.name, chunks=d.n_chunks, bytes=d.size,
                                 title=d.title, sha256=d.sha256) for d in kb.documents()]

    @app.post("/v1/kb/{name}/documents", response_model=UploadResult)
    def upload(name: str, request: Request, files: list[UploadFile] = File(...)) -> UploadResult:
        """Upload one or more files. A bad file rejects the whole request; nothing is stored."""
        declared = int(request.headers.get("content-length") or 0)
        if declared > settings.max_upload_bytes * max(1, len(files)) + 65536:
            raise APIError(413, f"upload too large (limit {settings.max_upload_bytes} bytes per file)")
        try:
            sources = [read_upload(f, settings.max_upload_bytes) for f in files]
        except UploadRejected as exc:
            raise APIError(exc.status, str(exc), "invalid_file") from exc
        kb = registry.open(name)
        try:
            report = add_documents(kb, sources, strict=True)
        except (EmbeddingError, KnowledgeBaseError) as exc:
            raise APIError(400, str(exc)) from exc
        finally:
            kb.close()
        if report.failed or report.skipped:
            raise APIError(400, "; ".join(reason for _, reason in report.failed + report.skipped),
                           "invalid_file")
        docs = {d.id: d for d in registry.reader(name)[0].documents()} if report.added else {}
        return UploadResult(
            added=[DocumentInfo(id=i, name=n, chunks=c, bytes=docs[i].size, title=docs[i].title,
                                sha256=docs[i].sha256) for n, i, c in report.added],
            duplicates=[{"name": n, "existing": e} for n, e in report.duplicates],
            copies=[{"name": n, "existing": e} for n, e, _ in report.copies],
            warnings=report.warnings)

    @app.delete("/v1/kb/{name}/documents/{doc_id}", status_code=204)
    def delete_document(name: str, doc_id: int) -> None:
        kb = registry.open(name)
        try:
            remove_document(kb, str(doc_id))
        except KnowledgeBaseError as exc:
            raise APIError(404, str(exc), "not_found") from exc
        finally:
            kb.close()

    @app.post("/v1/kb/{name}/query", response_model=QueryResponse)
    def query(name: str, body: QueryRequest) -> QueryResponse:
        kb, lock = registry.reader(name)
        config = SearchConfig(mode=body.mode, top_k=body.top_k, depth=max(50, body.top_k))
        with lock:
            try:
                result = search(kb, body.query, config)
            except KnowledgeBaseError as exc:
                raise APIError(409, str(exc), "kb_state_error") from exc
        return QueryResponse(chunks=[_source(i, h) for i, h in enumerate(result.hits, 1)],
                             timings=result.timings, warnings=result.warnings, keywords=result.keywords,
                             bm25_weight=result.bm25_weight)

    @app.post("/v1/kb/{name}/ask", response_model=AskResponse,
              responses={200: {"content": {"text/event-stream": {}}}})
    def ask(name: str, body: AskRequest):
        """Answer with citations; ``stream: true`` sends Server-Sent Events: ``delta``
        events with text, then one ``done`` event with the full response, then ``[DONE]``."""
        kb, lock = registry.reader(name)
        config = SearchConfig(mode=body.mode, top_k=body.top_k, depth=50)
        try:
            backend = get_backend(settings.llm, settings.local_llm)
        except BackendError as exc:
            raise APIError(503, str(exc), "backend_unavailable") from exc

        def events() -> Iterator[str | Answer]:
            with llm_lock, lock:
                yield from answer_stream(kb, body.question, backend, config,
                                         max_tokens=body.max_tokens, temperature=body.temperature)

        if not body.stream:
            try:
                final = next(e for e in events() if isinstance(e, Answer))
            except BackendError as exc:
                raise APIError(502, str(exc), "backend_error") from exc
            except KnowledgeBaseError as exc:
                raise APIError(409, str(exc), "kb_state_error") from exc
            return _answer_body(final)
        return StreamingResponse(_sse(events()), media_type="text/event-stream")

    return app


def _sse(events: Iterator[str | Answer]) -> Iterator[str]:
    try:
        for event in events:
            if isinstance(event, Answer):
                payload = {"type": "done", **_answer_body(event).model_dump()}
            else:
                payload = {"type": "delta", "text": event}
            yield f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
    except (BackendError, KnowledgeBaseError, VectorStoreError) as exc:
        yield f"data: {json.dumps({'type': 'error', 'message': str(exc)})}\n\n"
    yield "data: [DONE]\n\n"
