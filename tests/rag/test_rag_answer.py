"""Answering: citations parsed, prompts carry numbered sources, no LLM call without
relevant sources, and the OpenAI streaming client decodes SSE chunks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aipath.cli import app
from aipath.rag.answer import answer, build_messages, cited_numbers, language_of
from aipath.rag.ingest import SourceFile, add_documents
from aipath.rag.kb import KnowledgeBase, Settings
from aipath.rag.retriever import SearchConfig, search
from aipath.serve.chat_backends import BackendError, _sse_deltas


class NeverCalled:
    name = "must-not-run"
    languages = None

    def load(self):
        raise AssertionError("the LLM must not be loaded without relevant sources")

    def stream(self, *args, **kwargs):
        raise AssertionError("the LLM must not be called without relevant sources")


def test_cited_numbers() -> None:
    assert cited_numbers("A [2] and B [1, 3]. Again [2]; bad [9] [0]. 中文[4]、[1，2]", 4) == [2, 1, 3, 4]
    assert cited_numbers("no citations", 3) == []


def test_messages_number_the_sources(home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    hits = search(kb, "LoRA rank", SearchConfig(top_k=2)).hits
    messages = build_messages("What rank does LoRA use?", hits)
    assert messages[0]["role"] == "system" and "[1]" in messages[0]["content"]
    assert "[1] (lora.html, LoRA)" in messages[1]["content"] and "[2] (" in messages[1]["content"]
    zh = build_messages("LoRA 的秩一般取多少？", hits)
    assert "用中文回答" in zh[0]["content"] and language_of("LoRA 的秩一般取多少？") == "zh"


def test_irrelevant_question_never_reaches_the_llm(home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    result = answer(kb, "What is the capital of Peru?", NeverCalled())
    assert not result.found and result.sources == [] and "could not find" in result.text
    zh = answer(kb, "秘鲁的首都是哪里？", NeverCalled())
    assert zh.text == "知识库中没有找到与这个问题相关的内容。"


def test_sse_deltas() -> None:
    chunks = [{"choices": [{"delta": {"role": "assistant"}}]},
              {"choices": [{"delta": {"content": "Hel"}}]},
              {"choices": [{"delta": {"content": "lo"}, "finish_reason": None}]}]
    lines = [f"data: {json.dumps(c)}" for c in chunks] + ["", ": keep-alive", "data: [DONE]",
                                                          "data: {\"ignored\": true}"]
    assert list(_sse_deltas(iter(lines))) == ["Hel", "lo"]
    with pytest.raises(BackendError, match="malformed"):
        list(_sse_deltas(iter(["data: {oops"])))


def test_kb_cli_round_trip(home: Path, corpus: Path) -> None:
    runner = CliRunner()
    h = ["--home", str(home)]
    assert runner.invoke(app, ["kb", "create", "notes", "--embedder", "minilm", *h]).exit_code == 0
    (corpus / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 Word 97")
    added = runner.invoke(app, ["kb", "add", "notes", str(corpus), *h])
    assert added.exit_code == 0, added.output
    assert "4 added, 0 updated, 0 duplicates, 0 failed" in added.output
    assert "skipped   1 .doc file" in added.output and "save it as .docx" in added.output
    again = runner.invoke(app, ["kb", "add", "notes", str(corpus / "bm25.txt"), *h])
    assert "unchanged" in again.output and "0 added, 0 updated, 1 duplicates" in again.output
    listed = runner.invoke(app, ["kb", "docs", "notes", *h])
    assert "bm25.txt" in listed.output and "milvus.txt" in listed.output
    found = runner.invoke(app, ["query", "notes", "分布式向量数据库", *h])
    assert found.exit_code == 0 and "milvus.txt" in found.output
    assert "keywords: 分布式向量数据库 " in found.output  # mostly English notes: glossed as well
    english = runner.invoke(app, ["query", "notes", "BM25 parameters", *h])
    assert english.exit_code == 0 and "keywords:" not in english.output
    assert runner.invoke(app, ["kb", "rm", "notes", "milvus.txt", *h]).exit_code == 0
    missing = runner.invoke(app, ["kb", "rm", "notes", "milvus.txt", *h])
    assert missing.exit_code == 1 and "no document" in missing.output
    (corpus / "bm25.txt").unlink()
    synced = runner.invoke(app, ["kb", "add", "notes", str(corpus), "--sync", *h])
    assert synced.exit_code == 0, synced.output
    # milvus.txt comes back (only its stored copy was removed), bm25.txt goes
    assert "removed   bm25.txt" in synced.output and "1 added, 0 updated, 1 removed" in synced.output
    assert "notes" in runner.invoke(app, ["kb", "list", *h]).output
    assert runner.invoke(app, ["kb", "drop", "notes", "--yes", *h]).exit_code == 0
    assert "No knowledge bases" in runner.invoke(app, ["kb", "list", *h]).output
    nope = runner.invoke(app, ["ask", "nope", "hi", *h])
    assert nope.exit_code == 1 and "aipath kb create nope" in nope.output


class Scripted:
    """A chat backend that streams a fixed reply, as a weak model might."""

    name = "scripted"

    def __init__(self, reply: str, languages: frozenset[str] | None = None) -> None:
        self.reply, self.languages = reply, languages

    def load(self) -> None:
        pass

    def stream(self, messages, max_tokens, temperature):
        yield from self.reply.split(" ")[:1]
        yield from (" " + word for word in self.reply.split(" ")[1:])


def test_an_answer_citing_nothing_is_followed_by_cited_source_sentences(home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    result = answer(kb, "Which parameters does BM25 use?", Scripted("BM25 is a kind of latent latency."),
                    config=SearchConfig(top_k=3))
    support = result.text.split("The sources say:\n", 1)[1].splitlines()
    bm25 = next(i for i, h in enumerate(result.sources, 1) if h.chunk.source == "bm25.txt")
    assert f"- The usual parameters are k1 = 1.2 and b = 0.75. [{bm25}]" in support
    assert bm25 in result.cited and "extract" in result.timings
    # Streamed deltas add up to the final text, the appended sentences included.
    from aipath.rag.answer import answer_stream

    events = list(answer_stream(kb, "Which parameters does BM25 use?", Scripted("No idea.\n\n\n"), SearchConfig(top_k=3)))
    assert "".join(e for e in events if isinstance(e, str)) == events[-1].text
    assert events[-1].text.startswith("No idea.\n\n\nThe sources say:\n- ")  # no further blank lines


def test_a_cited_answer_stands_alone_and_chinese_support_is_labelled_in_chinese(home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    cited = answer(kb, "Which parameters does BM25 use?", Scripted("k1 and b [1]."))
    assert cited.text == "k1 and b [1]." and "extract" not in cited.timings
    zh = answer(kb, "Milvus 是什么？", Scripted("Milvus is a latent latency."), config=SearchConfig(top_k=3))
    assert "资料原文：" in zh.text and "Milvus 是一个开源的分布式向量数据库，支持十亿级向量的相似度检索。" in zh.text


def test_extraction_reuses_the_query_vector_of_the_search(home: Path, corpus: Path) -> None:
    from aipath.rag.extract import supporting_sentences

    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    question = "Which parameters does BM25 use?"
    result = search(kb, question, SearchConfig(top_k=3))
    assert search(kb, question, SearchConfig(mode="bm25")).query_vector is None
    fresh = kb.embedder().embed([question], kind="query")[0]
    assert result.query_vector is not None and float(result.query_vector @ fresh) > 0.9999
    assert (supporting_sentences(question, result.hits, kb.embedder(), result.query_vector)
            == supporting_sentences(question, result.hits, kb.embedder()))


class TableEmbedder:
    """Vectors looked up by text: the question is [1, 0], each sentence its given cosine."""

    def __init__(self, cosines: dict[str, float]) -> None:
        self.cosines = cosines

    def embed(self, texts, kind="passage"):
        import numpy as np

        if kind == "query":
            return np.array([[1.0, 0.0]] * len(texts))
        return np.array([[c, (1 - c * c) ** 0.5] for c in map(self.cosines.__getitem__, texts)])


def test_a_sentence_of_a_better_ranked_source_wins_a_near_tie() -> None:
    """The search ranked the chunks with both retrievers; a sentence a hair closer to the
    question in a lower-ranked chunk does not outrank one of the top chunk."""
    from aipath.rag.extract import supporting_sentences
    from aipath.rag.retriever import Hit
    from aipath.rag.store import ChunkRow

    first = "To keep a package at one version, hold it with apt-mark."
    third = "To keep a package at one version, pin it in the apt preferences."
    fillers = ["Mirrors are listed in the sources file.", "Archives are listed in the sources file.",
               "Mirrors are listed in the sources list."]
    texts = [f"{first} {fillers[0]}", fillers[1], f"{third} {fillers[2]}"]
    hits = [Hit(ChunkRow(i, 1, i, text, 0, len(text), None, "", "apt.txt", ""), 1.0 / (i + 1))
            for i, text in enumerate(texts)]
    cosines = {first: 0.80, third: 0.82} | dict.fromkeys(fillers, 0.2)  # the third's is a hair closer
    assert supporting_sentences("how do I keep a package at one version",
                                hits, TableEmbedder(cosines), limit=1) == [(1, first)]


class EnglishOnly(NeverCalled):
    name = "tiny-english-model"
    languages = frozenset({"en"})


def test_a_question_the_model_cannot_answer_in_gets_the_cited_source_sentences(home: Path, corpus: Path) -> None:
    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    from aipath.rag.answer import answer_stream

    events = list(answer_stream(kb, "Milvus 是什么？", EnglishOnly(), SearchConfig(top_k=3)))
    final = events[-1]
    assert "".join(e for e in events if isinstance(e, str)) == final.text
    assert final.text.startswith("tiny-english-model 只能用英文作答") and "--llm-url" in final.text
    milvus = next(i for i, h in enumerate(final.sources, 1) if h.chunk.source == "milvus.txt")
    assert f"- Milvus 是一个开源的分布式向量数据库，支持十亿级向量的相似度检索。 [{milvus}]" in final.text
    assert milvus in final.cited and "generate" not in final.timings
    # English questions still go to the model.
    english = answer(kb, "Which parameters does BM25 use?", Scripted("k1 and b [1].", frozenset({"en"})))
    assert english.text == "k1 and b [1]."
