"""Retrieval evaluation: recall@k, MRR@10 and nDCG@10 against answer + gold-quote labels,
and, when answers are generated, answer recall: the share of answers that contain the
labelled answer string.

A retrieved passage is relevant when it contains the answer string and most (more than
half) of the gold quote's words. Words are compared after NFKC normalisation and
lower-casing; a Chinese character counts as a word.

>>> is_relevant_passage("Use os.path.join to join paths.", "os.path.join", "use os.path.join to join")
True
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from aipath.rag.script import IDEOGRAPHS

_WORDS = re.compile(rf"[{IDEOGRAPHS}]|[^\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def words(text: str) -> list[str]:
    return _WORDS.findall(normalise(text))


def is_relevant_passage(passage: str, answer: str, gold_quote: str, most: float = 0.5) -> bool:
    text = normalise(passage)
    if normalise(answer) not in text:
        return False
    quote = set(words(gold_quote))
    if not quote:
        return True
    return len(quote & set(words(passage))) / len(quote) > most


def ndcg_at_k(relevance: Sequence[bool], k: int = 10) -> float:
    """Binary-relevance nDCG; the ideal ranking puts every relevant retrieved passage first."""
    gains = [1.0 / math.log2(i + 2) for i, rel in enumerate(relevance[:k]) if rel]
    n_relevant = sum(relevance[:k])
    ideal = sum(1.0 / math.log2(i + 2) for i in range(n_relevant))
    return sum(gains) / ideal if ideal else 0.0


def reciprocal_rank(relevance: Sequence[bool], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, rel in enumerate(relevance[:k]) if rel), 0.0)


@dataclass
class Metrics:
    n: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    ndcg_at_10: float
    answer_recall: float | None = None  # only when answers were generated

    def as_row(self) -> dict[str, float]:
        row = {"recall@1": self.recall_at_1, "recall@5": self.recall_at_5,
               "MRR@10": self.mrr_at_10, "nDCG@10": self.ndcg_at_10}
        if self.answer_recall is not None:
            row["answer recall"] = self.answer_recall
        return row


def answer_contains(answer_text: str, answer: str) -> bool:
    """Whether a generated answer states the labelled answer (same normalisation as passages).

    >>> answer_contains("Run `apt-mark hold  Foo` [1].", "apt-mark hold foo")
    True
    """
    return normalise(answer) in normalise(answer_text)


def score_run(judged: list[list[bool]], answered: list[bool] | None = None) -> Metrics:
    """Metrics over questions, each given as the relevance of its ranked passages (and, if
    answers were generated, whether each contains the labelled answer)."""
    n = len(judged)
    if n == 0:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0)
    return Metrics(
        n=n,
        recall_at_1=sum(any(r[:1]) for r in judged) / n,
        recall_at_5=sum(any(r[:5]) for r in judged) / n,
        mrr_at_10=sum(reciprocal_rank(r) for r in judged) / n,
        ndcg_at_10=sum(ndcg_at_k(r) for r in judged) / n,
        answer_recall=sum(answered) / len(answered) if answered else None,
    )
