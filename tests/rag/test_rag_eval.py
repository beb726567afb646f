"""Evaluation: metrics by hand, relevance rule, and the `aipath eval retrieval` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aipath.cli import app
from aipath.rag.evaluation import is_relevant_passage, ndcg_at_k, reciprocal_rank, score_run


def test_metrics_by_hand() -> None:
    assert ndcg_at_k([False, True, False]) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([True, False, True]) == pytest.approx(
        (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([False] * 10) == 0.0
    assert reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    m = score_run([[True, False], [False, True], [False, False]])
    assert (m.recall_at_1, m.recall_at_5) == pytest.approx((1 / 3, 2 / 3))
    assert m.mrr_at_10 == pytest.approx((1 + 0.5 + 0) / 3)
    assert m.answer_recall is None and "answer recall" not in m.as_row()
    assert score_run([[True], [False]], [True, False]).as_row()["answer recall"] == 0.5


def test_relevance_needs_answer_and_most_of_quote() -> None:
    quote = "The usual parameters are k1 = 1.2 and b = 0.75."
    assert is_relevant_passage("Intro. The usual parameters are k1 = 1.2 and b = 0.75.", "k1 = 1.2", quote)
    assert not is_relevant_passage("k1 = 1.2 somewhere else entirely", "k1 = 1.2", quote)
    assert not is_relevant_passage("The usual parameters are fine.", "k1 = 1.2", quote)
    assert is_relevant_passage("Milvus 是一个开源的分布式向量数据库。", "Milvus", "Milvus 是开源的分布式向量数据库")


def test_eval_command_end_to_end(tmp_path: Path, corpus: Path, home: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "q1", "question": "What values do k1 and b usually take?", "answer": "k1 = 1.2",
         "gold_quote": "The usual parameters are k1 = 1.2 and b = 0.75."},
        {"id": "q2", "question": "哪个开源数据库能检索十亿级向量？", "answer": "Milvus",
         "gold_quote": "Milvus 是一个开源的分布式向量数据库，支持十亿级向量的相似度检索。"},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "run.jsonl"
    runner = CliRunner()
    args = ["eval", "retrieval", "--docs", str(corpus), "--questions", str(questions), "--out", str(out),
            "--top-k", "3", "--home", str(home)]
    result = runner.invoke(app, args + ["--mode", "bm25"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == ["q1", "q2"]
    assert set(lines[0]["retrieved"][0]) == {"text", "source", "score"}
    assert "k1 = 1.2" in lines[0]["retrieved"][0]["text"]
    assert "nDCG@10" in result.output and "1.000" in result.output
    hybrid = runner.invoke(app, args + ["--mode", "hybrid"])  # reuses the cached knowledge base
    assert hybrid.exit_code == 0, hybrid.output
    assert len(list((home / "eval" / "kb").iterdir())) == 1


def test_eval_rejects_malformed_questions(tmp_path: Path, corpus: Path, home: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "ok"}\n{broken\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "retrieval", "--docs", str(corpus), "--questions",
                                      str(questions), "--out", str(tmp_path / "o.jsonl"), "--home", str(home)])
    assert result.exit_code == 1
    assert "q.jsonl:2: not valid JSON" in result.output.replace("\n", "")


def test_eval_says_why_it_prints_no_metrics_when_some_labels_are_missing(tmp_path: Path, corpus: Path,
                                                                        home: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [{"id": "a", "question": "BM25 parameters", "answer": "k1", "gold_quote": "k1 = 1.2"},
            {"id": "b", "question": "vector databases", "answer": "Milvus"}]
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "retrieval", "--docs", str(corpus), "--questions", str(questions),
                                      "--out", str(tmp_path / "o.jsonl"), "--mode", "bm25", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" not in result.output
    assert "1 of 2 questions carry" in " ".join(result.output.split())


def test_eval_says_which_files_it_could_not_read(tmp_path: Path, home: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Paging\n\nThe block manager hands out fixed-size KV blocks.\n")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    from .test_rag_kb import _manual_chapter
    chapter = _manual_chapter(3)
    (docs / "manual.html").write_text(f"<h1>Manual</h1><p>{chapter}</p>")
    (docs / "manual.txt").write_text(f"Manual\n\n{chapter}\n")
    (docs / "genindex.html").write_text("<table class='indextable'><tr><td><a href='#'>x</a></td></tr></table>")
    (docs / "data.json.gz").write_bytes(b"{}")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "what hands out KV blocks?"}\n', encoding="utf-8")
    args = ["eval", "retrieval", "--docs", str(docs), "--questions", str(questions),
            "--out", str(tmp_path / "o.jsonl"), "--mode", "bm25", "--home", str(home)]
    for _ in range(2):  # the second run reuses the cached knowledge base and still says it
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "skipped" in result.output and "broken.pdf: not a readable PDF" in result.output
        assert "1 .json.gz file: not a supported type" in result.output
        assert "1 file with no text of its own (link pages, generated indexes; e.g. genindex.html: the page " \
            "only indexes the others" in " ".join(result.output.split())
        assert "1 copy of text stored from a better format (e.g. manual.txt, 100% in 'manual.html')" in \
            " ".join(result.output.split())
    assert "block manager" in json.loads((tmp_path / "o.jsonl").read_text())["retrieved"][0]["text"]
    for name in ("good.md", "manual.html", "manual.txt", "genindex.html"):
        (docs / name).unlink()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "none of the 1 supported files" in result.output and "not a readable PDF" in result.output
    assert len(list((home / "eval" / "kb").iterdir())) == 1  # the failed build left nothing behind


def test_questions_saved_with_a_byte_order_mark_and_crlf_are_read(tmp_path: Path) -> None:
    from aipath.rag.eval_runner import Question, read_questions

    questions = tmp_path / "q.jsonl"
    questions.write_bytes('{"id": "a", "question": "怎么锁定软件包？"}\r\n\r\n{"id": 2, "question": "b"}\r\n'
                          .encode("utf-8-sig"))
    assert read_questions(questions) == [Question("a", "怎么锁定软件包？"), Question(2, "b")]


def test_an_answer_may_be_a_list_of_accepted_answers(tmp_path: Path) -> None:
    from aipath.rag.eval_runner import read_questions

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "BM25 k1?", "answer": ["k1 = 1.2", 1.2], '
                         '"gold_quote": "The usual parameters are k1 = 1.2"}\n'
                         '{"id": "b", "question": "unlabelled", "answer": null, "gold_quote": null}\n',
                         encoding="utf-8")
    labelled, unlabelled = read_questions(questions)
    assert labelled.answers == ("k1 = 1.2", "1.2") and labelled.labelled and not unlabelled.labelled
    assert labelled.is_relevant("The usual parameters are k1 = 1.2 and b = 0.75.")
    assert labelled.is_answered_by("Use 1.2 [1].") and not labelled.is_answered_by("Use 0.75 [1].")


def test_auto_embeds_with_e5_when_the_questions_are_chinese_even_over_english_documents() -> None:
    from aipath.rag.eval_runner import Question, eval_embedder

    english, chinese = Question(1, "how do I hold a package?"), Question(2, "怎么锁定一个 apt 软件包？")
    assert eval_embedder("auto", [english]) == "auto"  # the documents decide, as in `kb add`
    assert eval_embedder("auto", [english, chinese]) == "e5"
    assert eval_embedder("minilm", [chinese]) == "minilm"  # an explicit choice stands


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "a", "question": 42}', '"question" must be a non-empty string'),
    ('{"id": "a", "question": "   "}', '"question" must be a non-empty string'),
    ('{"id": ["a"], "question": "q"}', '"id" must be a string or an integer'),
    ('{"id": "a", "question": "q", "answer": {"text": "x"}, "gold_quote": "x"}', '"answer" must be a string'),
    ('{"id": "a", "question": "q", "answer": "x", "gold_quote": ["x"]}', '"gold_quote" must be a string'),
    ('["a", "q"]', 'each line needs "id" and "question"'),
])
def test_eval_says_which_line_and_field_of_the_questions_is_wrong(tmp_path: Path, corpus: Path, home: Path,
                                                                  line: str, message: str) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "ok", "question": "fine"}\n' + line + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "retrieval", "--docs", str(corpus), "--questions", str(questions),
                                      "--out", str(tmp_path / "o.jsonl"), "--home", str(home)])
    assert result.exit_code == 1
    assert f"q.jsonl:2: {message}" in " ".join(result.output.split())
    assert not (tmp_path / "o.jsonl").exists() and not (home / "eval").exists()  # stopped before indexing


class FixedReply:
    """Answers every question with the same cited sentence and keeps the prompts it saw."""

    name, languages = "fixed", None

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def load(self) -> None:
        pass

    def stream(self, messages, max_tokens, temperature):
        self.prompts.append(messages[-1]["content"])
        yield "The usual values are k1 = 1.2 and b = 0.75 [1]."


def test_eval_answers_from_the_ask_sources_and_scores_answer_recall(tmp_path: Path, corpus: Path,
                                                                   home: Path) -> None:
    from aipath.rag.answer import ANSWER_SOURCES
    from aipath.rag.eval_runner import Question, run_eval
    from aipath.rag.ingest import SourceFile, add_documents
    from aipath.rag.kb import KnowledgeBase, Settings
    from aipath.rag.retriever import SearchConfig

    kb = KnowledgeBase.create(home, "t", Settings(embedder="minilm"))
    add_documents(kb, [SourceFile.from_path(p, corpus) for p in corpus.iterdir()])
    add_documents(kb, [SourceFile(f"note{i}.txt", f"Note {i}: tuning values of k1 and b for "
                                                  f"database search, case {i}.".encode()) for i in range(6)])
    rows = [Question("q1", "What values do k1 and b usually take?", ("k1 = 1.2",),
                     "The usual parameters are k1 = 1.2 and b = 0.75."),
            Question("q2", "Which open-source database searches a billion vectors?", ("Milvus",),
                     "Milvus 是一个开源的分布式向量数据库")]
    backend = FixedReply()
    metrics = run_eval(kb, rows, tmp_path / "run.jsonl", SearchConfig(top_k=10), backend)
    assert metrics is not None and metrics.answer_recall == 0.5  # q1 states k1 = 1.2, q2 misses Milvus
    written = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(r["answer"].startswith("The usual values") for r in written)
    assert all(len(r["retrieved"]) > ANSWER_SOURCES for r in written)  # the corpus yields more hits
    assert all(f"[{ANSWER_SOURCES + 1}] (" not in prompt for prompt in backend.prompts)


def test_eval_writes_into_a_new_folder_and_refuses_a_folder_as_out(tmp_path: Path, corpus: Path,
                                                                   home: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "vector databases"}\n', encoding="utf-8")
    args = ["eval", "retrieval", "--docs", str(corpus), "--questions", str(questions), "--mode", "bm25",
            "--home", str(home), "--out"]
    result = CliRunner().invoke(app, args + [str(tmp_path / "runs" / "bm25" / "run.jsonl")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "runs" / "bm25" / "run.jsonl").read_text())["id"] == "a"
    refused = CliRunner().invoke(app, args + [str(tmp_path / "runs")])
    assert refused.exit_code == 1 and "is a folder" in refused.output
