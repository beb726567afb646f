"""The OpenAI-compatible HTTP server (FastAPI): what vLLM serves, on aipath's engine.

``/v1/chat/completions`` and ``/v1/completions`` (streaming over SSE or not),
``/v1/models``, ``/v1/embeddings`` and TEI's ``/embed`` (MiniLM), ``/health`` (503 until
the model is loaded) and ``/metrics`` (Prometheus, vLLM's names). Errors are OpenAI's
error JSON. The model loads in a thread after startup, so ``/health`` answers at once.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from aipath.llm.local import LocalLLM
from aipath.serve.async_engine import AsyncEngine, QueueFull
from aipath.serve.config import EngineConfig
from aipath.serve.engine import LLMEngine, StepOutput
from aipath.serve.openai_format import chat_logprobs, completion_logprobs, sse, usage
from aipath.serve.protocol import (
    AssistantMessage, ChatChoice, ChatChunkChoice, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse,
    CompletionChoice, CompletionRequest, CompletionResponse, DeltaMessage, EmbeddingData, EmbeddingRequest,
    EmbeddingResponse, ErrorDetail, ErrorResponse, ModelCard, ModelList, TEIEmbedRequest, Usage, new_id,
)
from aipath.serve.sequence import Sequence

log = logging.getLogger(__name__)
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class ServerConfig:
    model_name: str
    api_key: str | None = None
    embedder: str = "minilm"
    default_max_tokens: int = 256  # chat requests that name no max_tokens


class APIError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def error_response(status: int, message: str, param: str | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(message=message, type=ERROR_TYPES.get(status, "server_error"), param=param, code=status))
    return JSONResponse(body.model_dump(), status_code=status)


class ServerState:
    """The model, once loaded: ``engine`` is None until then (and ``load_error`` says why, if it failed)."""

    def __init__(self, load: Callable[[], LocalLLM], engine_config: EngineConfig) -> None:
        self.llm: LocalLLM | None = None
        self.engine: AsyncEngine | None = None
        self.load_error: str | None = None
        self._thread = threading.Thread(target=self._load, args=(load, engine_config), name="model-load", daemon=True)

    def _load(self, load: Callable[[], LocalLLM], engine_config: EngineConfig) -> None:
        try:
            self.llm = load()
            self.engine = AsyncEngine(LLMEngine.from_llm(self.llm, engine_config))
        except Exception as exc:  # reported by /health and every request, not a dead server
            log.exception("model failed to load")
            self.load_error = f"{type(exc).__name__}: {exc}"

    def ready(self) -> AsyncEngine:
        if self.engine is None:
            raise APIError(503, self.load_error or "the model is still loading")
        return self.engine


def create_app(load: Callable[[], LocalLLM], engine_config: EngineConfig, config: ServerConfig) -> FastAPI:
    state = ServerState(load, engine_config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state._thread.start()
        yield
        if state.engine is not None:  # uvicorn has let in-flight responses finish; abort the rest
            state.engine.shutdown()

    app = FastAPI(title="aipath OpenAI-compatible server", lifespan=lifespan)
    app.state.server = state

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.param)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return error_response(400, f"{param}: {first.get('msg')}" if param else str(first.get("msg")), param)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    def authorize(request: Request) -> None:
        if config.api_key and request.headers.get("authorization") != f"Bearer {config.api_key}":
            raise APIError(401, "invalid or missing API key (send 'Authorization: Bearer <key>')")

    def check_model(name: str | None) -> None:
        if name is not None and name != config.model_name:
            raise APIError(404, f"the model '{name}' does not exist; this server serves '{config.model_name}'", "model")

    def admit(prompt: str | list[int], params: Callable) -> tuple[Sequence, AsyncIterator[StepOutput]]:
        engine = state.ready()
        try:
            seq = engine.engine.new_sequence(prompt, params())
            return seq, engine.stream(seq)
        except (ValueError, AssertionError) as exc:
            raise APIError(400, str(exc)) from exc
        except QueueFull as exc:
            raise APIError(429, str(exc)) from exc

    def decode(token: int) -> bytes:
        return state.llm.tok.tokenizer.decode_bytes([token])

    async def collect(outputs: AsyncIterator[StepOutput], request: Request) -> list[StepOutput]:
        """All outputs of a non-streaming request; a client gone away ends (and aborts) it early."""
        collected = []
        async for out in outputs:
            collected.append(out)
            if await request.is_disconnected():
                await outputs.aclose()
                break
        return collected

    v1 = [Depends(authorize)]

    @app.get("/health")
    async def health() -> Response:
        if state.engine is None:
            return error_response(503, state.load_error or "the model is still loading")
        return Response(status_code=200)

    @app.get("/v1/models", dependencies=v1)
    async def models() -> ModelList:
        return ModelList(data=[ModelCard(id=config.model_name, max_model_len=state.ready().engine.max_model_len)])

    @app.post("/v1/chat/completions", dependencies=v1, response_model=None)
    async def chat(req: ChatCompletionRequest, request: Request) -> ChatCompletionResponse | StreamingResponse:
        check_model(req.model)
        state.ready()
        try:
            prompt = state.llm.render([{"role": m.role, "content": m.text()} for m in req.messages])
        except Exception as exc:  # a template's raise_exception, non-text parts, no template
            raise APIError(400, f"cannot format the messages: {exc}", "messages") from exc
        seq, outputs = admit(prompt, lambda: req.sampling_params(config.default_max_tokens))
        rid, want_lp = new_id("chatcmpl"), req.logprobs
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)

            async def chunks() -> AsyncIterator[ChatCompletionChunk]:
                yield ChatCompletionChunk(id=rid, model=req.model, choices=[ChatChunkChoice(delta=DeltaMessage(role="assistant", content=""))])
                async for out in outputs:
                    lp = chat_logprobs([out.logprob], decode) if want_lp and out.logprob else None
                    if out.text or lp:
                        yield ChatCompletionChunk(id=rid, model=req.model, choices=[ChatChunkChoice(delta=DeltaMessage(content=out.text), logprobs=lp)])
                yield ChatCompletionChunk(id=rid, model=req.model, choices=[ChatChunkChoice(delta=DeltaMessage(), finish_reason=seq.finish_reason or "abort")])
                if include_usage:
                    yield ChatCompletionChunk(id=rid, model=req.model, choices=[], usage=usage(seq))

            return StreamingResponse(sse(chunks()), media_type="text/event-stream")
        done = await collect(outputs, request)
        lp = chat_logprobs(seq.logprobs, decode) if want_lp else None
        text = "".join(o.text for o in done)
        return ChatCompletionResponse(id=rid, model=req.model, usage=usage(seq), choices=[
            ChatChoice(message=AssistantMessage(content=text), logprobs=lp, finish_reason=seq.finish_reason or "abort")])

    @app.post("/v1/completions", dependencies=v1, response_model=None)
    async def completions(req: CompletionRequest, request: Request) -> CompletionResponse | StreamingResponse:
        check_model(req.model)
        seq, outputs = admit(req.prompt, req.sampling_params)
        rid, want_lp = new_id("cmpl"), req.logprobs is not None
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)

            async def chunks() -> AsyncIterator[CompletionResponse]:
                offset = 0
                async for out in outputs:
                    lp = completion_logprobs([out.logprob], decode, offset) if want_lp and out.logprob else None
                    offset += len(out.text)
                    if out.text or lp:
                        yield CompletionResponse(id=rid, model=req.model, choices=[CompletionChoice(text=out.text, logprobs=lp)])
                yield CompletionResponse(id=rid, model=req.model, choices=[CompletionChoice(text="", finish_reason=seq.finish_reason or "abort")])
                if include_usage:
                    yield CompletionResponse(id=rid, model=req.model, choices=[], usage=usage(seq))

            return StreamingResponse(sse(chunks()), media_type="text/event-stream")
        done = await collect(outputs, request)
        lp = completion_logprobs(seq.logprobs, decode) if want_lp else None
        return CompletionResponse(id=rid, model=req.model, usage=usage(seq), choices=[
            CompletionChoice(text="".join(o.text for o in done), logprobs=lp, finish_reason=seq.finish_reason or "abort")])

    embed_lock = asyncio.Lock()  # one embedding batch at a time: the model is not re-entrant

    async def embed(texts: list[str]) -> np.ndarray:
        from aipath.rag.embeddings import get_embedder

        async with embed_lock:
            return await asyncio.to_thread(lambda: get_embedder(config.embedder).embed(texts))

    @app.post("/v1/embeddings", dependencies=v1)
    async def embeddings(req: EmbeddingRequest) -> EmbeddingResponse:
        texts = [req.input] if isinstance(req.input, str) else req.input
        vectors = await embed(texts)
        if req.encoding_format == "base64":
            rows: list = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors]
        else:
            rows = vectors.tolist()
        n = sum(len(t.split()) for t in texts)  # usage in words: the embedder's tokenizer is internal
        return EmbeddingResponse(model=req.model or config.embedder, data=[EmbeddingData(index=i, embedding=v) for i, v in enumerate(rows)],
                                 usage=Usage(prompt_tokens=n, completion_tokens=0, total_tokens=n))

    @app.post("/embed", dependencies=v1)
    async def tei_embed(req: TEIEmbedRequest) -> list[list[float]]:
        return (await embed([req.inputs] if isinstance(req.inputs, str) else req.inputs)).tolist()

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        engine = state.ready().engine
        bm, sched = engine.block_manager, engine.scheduler
        text = engine.metrics.render(config.model_name, len(sched.running), state.ready().num_waiting, bm.usage(),
                                     bm.prefix_queries, bm.prefix_hits, sched.num_preemptions)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return app


def serve(load: Callable[[], LocalLLM], engine_config: EngineConfig, config: ServerConfig, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the server until SIGINT/SIGTERM; in-flight requests get 10 s to finish, then are aborted."""
    import uvicorn

    uvicorn.run(create_app(load, engine_config, config), host=host, port=port, log_level="warning", timeout_graceful_shutdown=10)
