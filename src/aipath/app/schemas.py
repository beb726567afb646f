"""Typed request and response bodies of the document-QA API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from aipath.rag.defaults import CHUNK_OVERLAP, CHUNK_TOKENS, WINDOW_TOKENS


class ErrorBody(BaseModel):
    message: str
    type: str
    code: int


class ErrorResponse(BaseModel):
    error: ErrorBody


class CreateKB(BaseModel):
    name: str = Field(description="Letters, digits, '_', '-', '.'; at most 64 characters.")
    embedder: str = Field("auto", description="minilm, minilm-int8, mpnet, e5, e5-int8, tei:URL, openai:URL#MODEL or auto.")
    index: Literal["flat", "hnsw"] = "flat"
    chunker: Literal["recursive", "fixed", "sliding"] = "recursive"
    chunk_tokens: int = Field(CHUNK_TOKENS, ge=16, le=4096)
    chunk_overlap: int = Field(CHUNK_OVERLAP, ge=0, le=512)
    dense_window_tokens: int = Field(WINDOW_TOKENS, ge=0, le=2048, description=(
        "Embed each chunk as sentence windows of at most this many tokens; 0: whole chunks."))
    vector_store: Literal["faiss", "milvus"] = Field("faiss", description=(
        "faiss: files beside the knowledge base; milvus: the server's Milvus (`aipath serve "
        "--milvus-uri`), else a Milvus Lite file inside the knowledge base."))


class KBInfo(BaseModel):
    name: str
    documents: int
    chunks: int
    embedder: str
    index: str = Field(description='The vector index: "flat", "hnsw", or "milvus flat @ URI".')


class DocumentInfo(BaseModel):
    id: int
    name: str
    chunks: int
    bytes: int
    title: str
    sha256: str


class UploadResult(BaseModel):
    added: list[DocumentInfo]
    duplicates: list[dict[str, str]] = Field(description="name and the stored document it equals")
    copies: list[dict[str, str]] = Field(
        default_factory=list, description="name and the stored document whose text it repeats in "
                                          "another format (not added)")
    warnings: list[str] = Field(default_factory=list,
                                description="added anyway, but something needs the user's attention")


class QueryRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    top_k: int = Field(5, ge=1, le=100)


class Source(BaseModel):
    number: int
    chunk_id: int
    document: str
    page: int | None
    heading: str
    start: int
    end: int
    text: str
    score: float
    bm25: float
    dense: float


class QueryResponse(BaseModel):
    chunks: list[Source]
    timings: dict[str, float]
    warnings: list[str] = Field([], description="What limited this search and how to fix it")
    keywords: str = Field("", description="What keyword search (BM25) was asked: the query, and "
                          "for a query in the other language than the documents, the dictionary "
                          "glosses of its words in theirs")
    bm25_weight: float | None = Field(None, description="Keyword search's share in a hybrid "
                                      "search (0.5, less when its best match holds under half of "
                                      "the query's idf); null in bm25 or dense mode")


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    top_k: int = Field(4, ge=1, le=20)
    max_tokens: int = Field(256, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    stream: bool = False


class AskResponse(BaseModel):
    answer: str
    found: bool
    citations: list[int] = Field(description="Source numbers cited inline as [n]")
    sources: list[Source]
    timings: dict[str, float] = Field(description="Seconds: retrieve, rerank, load (model), first_token, generate")
    warnings: list[str] = Field([], description="What limited this answer's search and how to fix it")
