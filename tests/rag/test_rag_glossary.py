"""Questions in the other language: dictionary glosses for BM25 and an English rendering for
the embedder (aipath.rag.glossary), and answers from sources in the other language."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from aipath.rag.answer import CROSS_LANGUAGE_DROP, DENSE_RELEVANCE, answer, is_relevant
from aipath.rag.glossary import (chinese_glosses, english_glosses, english_rendering, glosses,
                                  translations)
from aipath.rag.ingest import SourceFile, add_documents
from aipath.rag.kb import KnowledgeBase, Settings
from aipath.rag.retriever import (Hit, SearchConfig, bm25_query, query_terms, query_vector, query_vectors,
                                  search, vector_languages)
from aipath.rag.store import ChunkRow

from .test_rag_answer import Scripted

ENGLISH = {
    "apt.txt": "Use apt-mark hold to lock a software package at its current version, so that "
               "apt will not upgrade it. apt-mark unhold releases it again.",
    "re.txt": "A regular expression quantifier such as *? is lazy: it matches as little text as it can.",
    "venv.txt": "The venv module creates lightweight virtual environments, each with its own site directory.",
}


def _kb(home: Path, name: str, docs: dict[str, str]) -> KnowledgeBase:
    kb = KnowledgeBase.create(home, name, Settings(embedder="minilm"))
    add_documents(kb, [SourceFile(n, t.encode()) for n, t in docs.items()])
    return kb


def test_a_word_is_glossed_by_its_first_sense_or_its_computing_senses() -> None:
    assert glosses("软件包") == ["software package"]
    assert glosses("日志") == ["log"]  # "journal" is the first sense; "(computing) log" wins
    assert glosses("不存在的词语") == []


def test_the_longest_word_is_glossed_and_its_parts_are_not() -> None:
    # jieba's search mode also yields 正则, 表达 and 表达式; they would add noise
    assert english_glosses("正则表达式") == "regular expression"
    assert english_glosses("how do I hold a package?") == ""  # nothing to translate


def test_a_chinese_question_finds_an_english_document_by_keyword(home: Path) -> None:
    kb = _kb(home, "en", ENGLISH)
    question = "怎么锁定软件包，不让它升级？"
    assert kb.text_language() == "en"
    assert "lock" in bm25_query(kb, question) and "software package" in bm25_query(kb, question)
    assert search(kb, question, SearchConfig(mode="bm25", top_k=1)).hits[0].chunk.source == "apt.txt"
    assert search(kb, "怎么创建虚拟环境", SearchConfig(mode="bm25", top_k=1)).hits[0].chunk.source == "venv.txt"


def test_chinese_documents_get_the_question_as_asked(home: Path) -> None:
    kb = _kb(home, "zh", {"apt.txt": "用 apt-mark hold 命令可以锁定一个软件包，使它不被升级。",
                          "venv.txt": "venv 模块用来创建轻量级的虚拟环境。"})
    assert kb.text_language() == "zh"
    assert bm25_query(kb, "怎么锁定软件包？") == "怎么锁定软件包？"
    assert bm25_query(_kb(home, "en", ENGLISH), "how do I lock a package?") == "how do I lock a package?"


def test_the_language_of_the_documents_is_judged_again_after_a_change(home: Path) -> None:
    kb = _kb(home, "t", {"apt.txt": ENGLISH["apt.txt"]})
    assert kb.text_language() == "en"
    add_documents(kb, [SourceFile(f"zh{i}.txt", f"第{i}章：向量数据库用于存储和检索嵌入向量，常见的有 Milvus。".encode())
                       for i in range(4)])
    assert kb.text_language() == "zh"


def test_an_english_source_found_for_a_chinese_question_counts_as_relevant(home: Path) -> None:
    kb = _kb(home, "en", ENGLISH)
    question = "怎么锁定软件包，不让它升级？"
    terms = query_terms(question, bm25_query(kb, question), "en")
    assert terms and not any("\u4e00" <= ch <= "\u9fff" for t in terms for ch in t)  # its Chinese cannot occur
    result = search(kb, question, SearchConfig(top_k=1))
    assert query_terms(question, result.keywords, "en") == terms
    top = result.hits[0]
    assert top.chunk.source == "apt.txt" and is_relevant(top, {"en": terms}, kb.meta["embedder_name"])


CHINESE = {
    "apt.txt": "用 apt-mark hold 命令可以锁定一个软件包，使它不被升级。",
    "log.txt": "dpkg 把每一次安装和删除都记录在日志文件 /var/log/dpkg.log 里。",
    "boot.txt": "用 systemctl disable 命令可以禁止一个服务在引导时启动，而不必卸载它。",
}


def test_an_english_phrase_gets_the_chinese_word_that_best_carries_it() -> None:
    # "file" is the second sense of 文件 but the first of 档案, which jieba counts less often
    assert translations("where is the default log file?") == [
        ("default", "默认"), ("log", "日志"), ("file", "文件")]
    assert chinese_glosses("regular expression") == "正则表达式"  # the longest phrase first
    assert chinese_glosses("upgraded packages")  # inflected words are looked up by their lemma
    assert chinese_glosses("the of and") == ""  # stop words are never translated


def test_an_english_question_finds_a_chinese_document_by_keyword(home: Path) -> None:
    kb = _kb(home, "zh", CHINESE)
    question = "stop a service from starting at boot without uninstalling it"
    assert kb.text_language() == "zh"
    keywords = bm25_query(kb, question)
    assert keywords.startswith(question) and "服务" in keywords and "引导" in keywords
    hits = search(kb, question, SearchConfig(mode="bm25", top_k=1)).hits
    assert hits and hits[0].chunk.source == "boot.txt"
    # the question as asked shares no word with any of the three documents
    assert kb.indexes()[1].search(question, 3) == []


def test_an_english_question_keeps_its_untranslated_names_as_terms(home: Path) -> None:
    kb = _kb(home, "zh", CHINESE)
    question = "which log file does dpkg write?"
    terms = query_terms(question, bm25_query(kb, question), "zh")
    assert {"dpkg", "日志", "文件"} <= terms
    assert "log" not in terms and "file" not in terms  # translated: the Chinese words stand in


def test_a_bilingual_collection_glosses_either_question_and_scores_chunks_by_language(home: Path) -> None:
    # Chinese notes beside English documentation: a question in either language may be
    # answered by the other half, so BM25 gets the glosses, and the embedder reads the
    # rendering for the English chunks only (averaged in, it pulls away from the Chinese half)
    kb = _kb(home, "both", {"re.en.txt": ENGLISH["re.txt"], "venv.en.txt": ENGLISH["venv.txt"],
                            "log.zh.txt": CHINESE["log.txt"], "boot.zh.txt": CHINESE["boot.txt"]})
    assert kb.text_language() == "mixed"
    top = search(kb, "怎么创建虚拟环境", SearchConfig(mode="bm25", top_k=1)).hits
    assert top and top[0].chunk.source == "venv.en.txt"
    top = search(kb, "stop a service from starting at boot", SearchConfig(mode="bm25", top_k=1)).hits
    assert top and top[0].chunk.source == "boot.zh.txt"
    question = "怎么禁止服务开机启动"
    assert query_terms(question, bm25_query(kb, question), "zh") == {"禁止", "服务", "开机", "启动"}
    # Chinese chunks are scored by the question's own vector, English ones by its rendering's
    vectors = query_vectors(kb, question)
    own, rendered = kb.embedder().embed([question, english_rendering(question)], kind="query")
    assert set(vectors) == {"zh", "en"}
    np.testing.assert_allclose(vectors["zh"], own, atol=1e-6)
    np.testing.assert_allclose(vectors["en"], rendered, atol=1e-6)
    index = kb.indexes()[0]
    by_own, by_rendering = dict(index.search(own, 4)), dict(index.search(rendered, 4))
    hits = search(kb, question, SearchConfig(mode="dense", top_k=4)).hits
    assert len(hits) == 4
    for hit in hits:  # each chunk keeps the score of its own language's vector
        expected = by_own if hit.chunk.source.endswith(".zh.txt") else by_rendering
        assert abs(hit.dense - expected[hit.chunk.id]) < 1e-5
    # A question none of whose words has a Chinese gloss is searched as asked.
    assert bm25_query(kb, "PyPI") == "PyPI"


def test_chunks_in_either_language_of_a_mostly_english_collection_have_their_terms(home: Path) -> None:
    kb = _kb(home, "notes", {**ENGLISH, "boot.zh.txt": CHINESE["boot.txt"]})
    assert kb.text_language() == "en"
    question = "怎么禁止服务开机启动"
    keywords = bm25_query(kb, question)
    assert keywords != question  # glossed: most chunks are English
    assert query_terms(question, keywords, "zh") == {"禁止", "服务", "开机", "启动"}
    assert "服务" not in query_terms(question, keywords, "en") and query_terms(question, keywords, "en")


def test_the_language_sample_spans_the_whole_collection(home: Path) -> None:
    # 300 English chunks added first, then 200 Chinese ones: a sample of the first 200 ids
    # would call it English
    kb = KnowledgeBase.create(home, "big", Settings(embedder="minilm", chunk_tokens=64))
    english = [SourceFile(f"en{i}.txt", f"Note {i}: vector databases store embeddings.".encode()) for i in range(300)]
    chinese = [SourceFile(f"zh{i}.txt", f"第{i}条：向量数据库用于存储和检索嵌入向量。".encode()) for i in range(200)]
    add_documents(kb, english)
    add_documents(kb, chinese)
    assert kb.chunk_count() == 500 and kb.text_language() == "mixed"


def test_an_english_question_is_answered_from_chinese_documents(home: Path) -> None:
    kb = KnowledgeBase.create(home, "zh", Settings(embedder="e5"))
    add_documents(kb, [SourceFile(n, t.encode()) for n, t in CHINESE.items()])
    question = "how do I keep a service from starting when the machine boots, without removing it?"
    assert search(kb, question, SearchConfig(top_k=1)).hits[0].chunk.source == "boot.txt"
    reply = answer(kb, question, Scripted("Run systemctl disable [1]."), config=SearchConfig(top_k=2))
    assert reply.found and reply.sources[0].chunk.source == "boot.txt" and reply.cited == [1]
    # a model that reads English only is not handed Chinese sources: their sentences answer
    english_only = Scripted("must not be generated", languages=frozenset({"en"}))
    reply = answer(kb, question, english_only, config=SearchConfig(top_k=2))
    assert "must not be generated" not in reply.text and "cannot read these sources" in reply.text
    assert "systemctl disable" in reply.text.split("The sources say:", 1)[1] and 1 in reply.cited


def test_a_passage_in_the_other_language_is_held_to_a_lower_cosine() -> None:
    name = "multilingual-e5-small"
    cosine = DENSE_RELEVANCE[name] - CROSS_LANGUAGE_DROP[name] / 2
    hit = Hit(ChunkRow(1, 1, 0, "用 systemctl disable 禁止服务开机启动。", 0, 20, None, "", "boot.txt", ""),
              score=1.0, dense=cosine)
    assert is_relevant(hit, {}, name, read_in=frozenset({"en"}))
    assert not is_relevant(hit, {}, name, read_in=frozenset({"zh"}))
    assert not is_relevant(hit, {}, name, read_in=frozenset({"en", "zh"}))  # also read in Chinese


def test_a_chinese_question_is_rendered_in_english_for_the_embedder(home: Path) -> None:
    assert english_rendering("for 循环的 else 子句什么时候执行？") == "for cycle else clause time implement"
    kb = _kb(home, "en", ENGLISH)  # MiniLM cannot read Chinese: it embeds the rendering alone
    question = "怎么创建轻量级的虚拟环境？"
    embed = kb.embedder().embed
    np.testing.assert_allclose(query_vector(kb, question), embed([english_rendering(question)], kind="query")[0])
    assert search(kb, question, SearchConfig(mode="dense", top_k=1)).hits[0].chunk.source == "venv.txt"
    english = "how do I create a virtual environment?"  # an English question is embedded as asked
    np.testing.assert_allclose(query_vector(kb, english), embed([english], kind="query")[0])
    # the rendering stands in for the question, it does not carry it: English chunks get the drop
    assert vector_languages(kb, question) == {"zh"} and vector_languages(kb, english) == {"en"}


def test_a_multilingual_embedder_averages_the_question_and_its_rendering(home: Path) -> None:
    kb = KnowledgeBase.create(home, "e5", Settings(embedder="e5"))
    add_documents(kb, [SourceFile(n, t.encode()) for n, t in ENGLISH.items()])
    question = "怎么创建轻量级的虚拟环境？"
    both = kb.embedder().embed([question, english_rendering(question)], kind="query")
    expected = both.mean(axis=0) / np.linalg.norm(both.mean(axis=0))
    np.testing.assert_allclose(query_vector(kb, question), expected, rtol=1e-6)
    assert abs(np.linalg.norm(query_vector(kb, question)) - 1.0) < 1e-6
    assert vector_languages(kb, question) == {"zh", "en"}  # e5 read the question itself in English too


def test_a_model_is_handed_only_the_sources_it_reads(home: Path) -> None:
    kb = _kb(home, "both", {"venv.en.txt": ENGLISH["venv.txt"], "venv.zh.txt": "venv 模块用来创建轻量级的虚拟环境，每个环境有自己的目录。",
                            "log.zh.txt": CHINESE["log.txt"], "re.en.txt": ENGLISH["re.txt"]})
    english_only = Scripted("The venv module creates them [1].", languages=frozenset({"en"}))
    reply = answer(kb, "how do I create a virtual environment?", english_only, config=SearchConfig(top_k=4))
    assert reply.text == "The venv module creates them [1]." and reply.cited == [1]
    assert reply.sources and all(h.chunk.source.endswith(".en.txt") for h in reply.sources)


def test_the_reverse_dictionary_is_read_from_its_copy_and_a_torn_copy_is_rebuilt(
        tmp_path: Path, monkeypatch) -> None:
    from aipath.rag import glossary

    monkeypatch.setenv("AIPATH_HOME", str(tmp_path))
    build = glossary._build_reverse_dictionary
    for cached in (glossary.reverse_dictionary, glossary.dictionary):
        cached.cache_clear()
    try:
        built = glossary.reverse_dictionary()
        (copy,) = (tmp_path / "cache").glob("reverse-dictionary-*.pickle")
        assert len(list((tmp_path / "cache").glob("cedict-*.pickle"))) == 1
        glossary.reverse_dictionary.cache_clear()
        monkeypatch.setattr(glossary, "_build_reverse_dictionary", lambda: pytest.fail("built again"))
        assert glossary.reverse_dictionary() == built
        copy.write_bytes(copy.read_bytes()[:100_000])  # a writer killed mid-way
        glossary.reverse_dictionary.cache_clear()
        monkeypatch.setattr(glossary, "_build_reverse_dictionary", build)
        assert glossary.reverse_dictionary() == built
        assert pickle.loads(copy.read_bytes()) == built
    finally:
        for cached in (glossary.reverse_dictionary, glossary.dictionary):
            cached.cache_clear()
