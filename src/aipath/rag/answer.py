"""Answer a question from a knowledge base: retrieve → (rerank) → prompt → stream → cite.

The LLM sees the retrieved chunks numbered [1]..[n] and is asked to cite them inline.
When retrieval finds nothing relevant, the pipeline says so and never calls the LLM, so
there is nothing to invent from. When the LLM's answer cites no source, the sentences of
the sources that best answer the question follow it, cited (``aipath.rag.extract``). The
model is handed only the sources in a language it reads; when it cannot answer in the
question's language, or read any source (the local SmolLM2 and Chinese), those sentences are
the answer, with a note saying how to get a generated one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from aipath.rag.extract import supporting_sentences
from aipath.rag.kb import KnowledgeBase
from aipath.rag.rerank import Reranker
from aipath.rag.retriever import Hit, SearchConfig, query_terms, search, vector_languages
from aipath.rag.script import language_of
from aipath.rag.text_analysis import analyze
from aipath.serve.chat_backends import ChatBackend, Message

# Cosine similarity above which a chunk counts as on-topic even with no shared words.
# Each model has its own scale: e5's cosines crowd near 0.8, MiniLM's spread from 0.
DENSE_RELEVANCE = {"all-MiniLM-L6-v2": 0.45, "multilingual-e5-small": 0.86}
# How much lower the on-topic bar is for a chunk in a language the question's vector does
# not carry (retriever.vector_languages). The same labelled passage scores 0.07 lower with e5
# reading an English question over Chinese passages, 0.13 lower with MiniLM reading the English
# rendering of a Chinese question (e5 averaging the question with its rendering: 0.01). Drops
# a little under those keep as many relevant passages, or one fewer, and far fewer answers to
# questions on other subjects (devsets/RESULTS.md, 2026-12-07).
CROSS_LANGUAGE_DROP = {"all-MiniLM-L6-v2": 0.10, "multilingual-e5-small": 0.05}
TERM_COVERAGE = 0.5  # or: at least half the question's content words appear in the chunk

NOT_FOUND = {
    "en": "I could not find anything about this in the knowledge base.",
    "zh": "知识库中没有找到与这个问题相关的内容。",
}

SYSTEM_PROMPT = {
    "en": ("You answer questions using only the numbered sources below. Cite the sources "
           "you use inline like [1] or [2]. If the sources do not contain the answer, say "
           "you don't know. Be concise."),
    "zh": ("请只根据下面编号的资料回答问题，并在句中用 [1]、[2] 这样的编号标注引用的资料。"
           "如果资料中没有答案，就说不知道。回答要简洁，用中文回答。"),
}


# Said instead of generating when the question's language is one the model cannot answer in.
LANGUAGE_NOTE = {
    "en": ("{model} does not answer in English; here is what the sources say. For a generated "
           "answer, connect a model that does with --llm-url (vLLM, Ollama, …)."),
    "zh": ("{model} 只能用英文作答，下面是资料中最相关的原文。要用中文生成回答，请用 --llm-url "
           "接入支持中文的模型（例如 vLLM 或 Ollama 上的 Qwen）。"),
}

SOURCES_LANGUAGE_NOTE = {
    "en": ("{model} cannot read these sources, which are not in English; here is what they say. "
           "For a generated answer, connect a model that reads them with --llm-url (for example "
           "Qwen on vLLM or Ollama)."),
    "zh": ("{model} 读不懂这些非中文的资料，下面是资料中最相关的原文。要生成回答，请用 --llm-url "
           "接入能读懂它们的模型。"),
}

ANSWER_SOURCES = 4  # chunks in an answer's prompt: `aipath eval --answer`, as `ask --top-k` and the API

SUPPORT_HEADER = {
    "en": "The sources say:",
    "zh": "资料原文：",
}


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Hit]
    cited: list[int]  # 1-based source numbers the answer cites inline
    timings: dict[str, float] = field(default_factory=dict)
    found: bool = True
    warnings: list[str] = field(default_factory=list)  # from the search: what limited it


def is_relevant(hit: Hit, terms: Mapping[str, set[str]], embedder_name: str,
                read_in: frozenset[str] = frozenset()) -> bool:
    """On-topic by meaning (dense score) or by words (``terms``: the question's BM25 terms a
    chunk in each language can share, ``retriever.query_terms``). ``read_in``: the languages
    the question's vector carries it in (``vector_languages``); a chunk in another meets it at
    a lower cosine."""
    language = language_of(hit.chunk.text)
    threshold = DENSE_RELEVANCE.get(embedder_name, 0.5)
    if read_in and language not in read_in:
        threshold -= CROSS_LANGUAGE_DROP.get(embedder_name, 0.0)
    if hit.dense >= threshold:
        return True
    shared = terms.get(language, set())
    if not shared or hit.bm25 <= 0:
        return False
    chunk_terms = set(analyze(hit.chunk.heading + "\n" + hit.chunk.text))
    return len(shared & chunk_terms) / len(shared) >= TERM_COVERAGE


def build_messages(question: str, hits: list[Hit]) -> list[Message]:
    lang = language_of(question)
    sources = "\n\n".join(
        f"[{i}] ({_label(h)})\n{h.chunk.text}" for i, h in enumerate(hits, 1))
    label = "资料" if lang == "zh" else "Sources"
    asked = "问题" if lang == "zh" else "Question"
    return [
        {"role": "system", "content": SYSTEM_PROMPT[lang]},
        {"role": "user", "content": f"{label}:\n{sources}\n\n{asked}: {question}"},
    ]


def _label(hit: Hit) -> str:
    where = hit.chunk.location
    return f"{hit.chunk.source}, {where}" if where else hit.chunk.source


def cited_numbers(text: str, n_sources: int) -> list[int]:
    """Source numbers cited as [k] (also [1, 2] and [1][2]) that exist, in first-cited order."""
    found: list[int] = []
    for group in re.findall(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]", text):
        for number in re.split(r"\s*[,，、]\s*", group):
            k = int(number)
            if 1 <= k <= n_sources and k not in found:
                found.append(k)
    return found


def answer_stream(kb: KnowledgeBase, question: str, backend: ChatBackend,
                  config: SearchConfig | None = None, reranker: Reranker | None = None,
                  max_tokens: int = 256, temperature: float = 0.0) -> Iterator[str | Answer]:
    """Yield text deltas as they are generated, then the final ``Answer``."""
    result = search(kb, question, config, reranker)
    timings = dict(result.timings)
    embedder_name = kb.meta.get("embedder_name", "")
    terms = {language: query_terms(question, result.keywords, language) for language in ("en", "zh")}
    language = language_of(question)
    read_in = vector_languages(kb, question)
    hits = [h for h in result.hits if is_relevant(h, terms, embedder_name, read_in)]
    if not hits:
        text = NOT_FOUND[language]
        yield text
        yield Answer(question, text, [], [], timings, found=False, warnings=result.warnings)
        return
    hits, unreadable = _readable(backend, language, hits)
    if unreadable is None:
        pieces: list[str] = []
        for delta in _generate(backend, build_messages(question, hits), timings, max_tokens, temperature):
            pieces.append(delta)
            yield delta
        text = "".join(pieces)
    else:  # the note cites nothing, so the sources' sentences below become the answer
        note = LANGUAGE_NOTE if unreadable == language else SOURCES_LANGUAGE_NOTE
        text = note[language].format(model=backend.name)
        yield text
    if not cited_numbers(text, len(hits)):
        started = time.perf_counter()
        support = support_text(question, hits, kb, terms["en"] | terms["zh"], after=text,
                               query=result.query_vector)
        timings["extract"] = time.perf_counter() - started
        text += support
        yield support
    yield Answer(question, text, hits, cited_numbers(text, len(hits)), timings, warnings=result.warnings)


def _readable(backend: ChatBackend, question_language: str,
              hits: list[Hit]) -> tuple[list[Hit], str | None]:
    """The sources to hand the model, and the language it cannot handle, if any.

    A small local model given sources in a language it cannot read copies their script
    without their sense (SmolLM2 on Chinese sources for an English question), so it gets only
    those it reads; if there are none, the sources' own sentences answer.
    """
    if backend.languages is None:
        return hits, None
    if question_language not in backend.languages:
        return hits, question_language
    readable = [h for h in hits if language_of(h.chunk.text) in backend.languages]
    return (readable, None) if readable else (hits, language_of(hits[0].chunk.text))


def _generate(backend: ChatBackend, messages: list[Message], timings: dict[str, float],
              max_tokens: int, temperature: float) -> Iterator[str]:
    """The model's deltas, with load, first-token and total generation time recorded."""
    started = time.perf_counter()
    backend.load()  # timed apart, so a cold start does not pass for a slow first token
    timings["load"] = time.perf_counter() - started
    started = time.perf_counter()
    for n, delta in enumerate(backend.stream(messages, max_tokens, temperature)):
        if n == 0:
            timings["first_token"] = time.perf_counter() - started
        yield delta
    timings["generate"] = time.perf_counter() - started


def support_text(question: str, hits: list[Hit], kb: KnowledgeBase, terms: set[str],
                 after: str = "", query: np.ndarray | None = None) -> str:
    """The cited source sentences appended to an answer (``after``) that cites nothing,
    one blank line below it whatever newlines the model ended with."""
    sentences = supporting_sentences(question, hits, kb.embedder(), query, terms=terms)
    if not sentences:
        return ""
    trailing = len(after) - len(after.rstrip("\n"))
    gap = "\n" * max(0, 2 - trailing) if after.strip() else ""
    lines = "".join(f"\n- {sentence} [{number}]" for number, sentence in sentences)
    return f"{gap}{SUPPORT_HEADER[language_of(question)]}{lines}"


def answer(kb: KnowledgeBase, question: str, backend: ChatBackend, **kwargs) -> Answer:
    final = None
    for event in answer_stream(kb, question, backend, **kwargs):
        if isinstance(event, Answer):
            final = event
    assert final is not None
    return final
