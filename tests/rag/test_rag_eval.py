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
