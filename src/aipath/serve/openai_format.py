"""Engine outputs in OpenAI's shapes: logprobs (chat and text flavours), usage, SSE framing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from pydantic import BaseModel

from aipath.serve.protocol import ChatLogprobs, ChatTokenLogprob, CompletionLogprobs, TopLogprob, Usage
from aipath.serve.sequence import Sequence, TokenLogprob

Decode = Callable[[int], bytes]


def usage(seq: Sequence) -> Usage:
    n_out = len(seq.output_ids)
    return Usage(prompt_tokens=seq.num_prompt_tokens, completion_tokens=n_out, total_tokens=seq.num_prompt_tokens + n_out)


def _top(token_id: int, logprob: float, decode: Decode) -> TopLogprob:
    raw = decode(token_id)
    return TopLogprob(token=raw.decode("utf-8", errors="replace"), logprob=logprob, bytes=list(raw))


def chat_logprobs(entries: list[TokenLogprob], decode: Decode) -> ChatLogprobs:
    return ChatLogprobs(content=[
        ChatTokenLogprob(**_top(e.token_id, e.logprob, decode).model_dump(), top_logprobs=[_top(t, lp, decode) for t, lp in e.top])
        for e in entries
    ])


def completion_logprobs(entries: list[TokenLogprob], decode: Decode, offset: int = 0) -> CompletionLogprobs:
    """The legacy completions format; ``text_offset`` counts characters from ``offset``."""
    tokens = [decode(e.token_id).decode("utf-8", errors="replace") for e in entries]
    offsets = []
    for token in tokens:
        offsets.append(offset)
        offset += len(token)
    tops = [{decode(t).decode("utf-8", errors="replace"): lp for t, lp in e.top} for e in entries]
    return CompletionLogprobs(tokens=tokens, token_logprobs=[e.logprob for e in entries], top_logprobs=tops, text_offset=offsets)


async def sse(events: AsyncIterator[BaseModel]) -> AsyncIterator[str]:
    """Server-Sent Events as OpenAI sends them: one ``data:`` JSON line per chunk, then ``[DONE]``."""
    async for event in events:
        yield f"data: {event.model_dump_json()}\n\n"
    yield "data: [DONE]\n\n"
