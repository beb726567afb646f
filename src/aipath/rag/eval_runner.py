"""``aipath eval retrieval``: build a throw-away knowledge base from a folder, run the
questions, write one JSON line per question, and score it when labels are present.

The knowledge base is cached under ``<home>/eval/<fingerprint>``, keyed by the files'
paths, sizes and modification times, the settings and the indexing code itself, so
re-running on the same folder (for example to compare modes) does not embed everything
again, and a code change never reuses a stale index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from aipath.rag import store
from aipath.rag.embeddings import needs_multilingual
from aipath.rag.evaluation import Metrics, answer_contains, is_relevant_passage, score_run
from aipath.rag.ingest import Progress, SourceFile, add_documents
from aipath.rag.kb import KnowledgeBase, Settings
from aipath.rag.loaders import iter_supported_files
from aipath.rag.retriever import SearchConfig, search


@dataclass(frozen=True)
class Question:
    """One line of the questions file. ``answers`` are the accepted answer strings (a line's
    ``answer`` may be one string or a list of alternatives, as in SQuAD); a question is
    scored only when it has an answer and a ``gold_quote``."""

    id: str | int
    question: str
    answers: tuple[str, ...] = ()
    gold_quote: str | None = None

    @property
    def labelled(self) -> bool:
        return bool(self.answers) and self.gold_quote is not None

    def is_relevant(self, passage: str) -> bool:
        assert self.gold_quote is not None
        return any(is_relevant_passage(passage, a, self.gold_quote) for a in self.answers)

    def is_answered_by(self, answer_text: str) -> bool:
        return any(answer_contains(answer_text, a) for a in self.answers)


def _question(item: Any) -> Question:
    """Check one parsed line; the ValueError says which field is wrong."""
    if not isinstance(item, dict) or "id" not in item or "question" not in item:
        raise ValueError("each line needs \"id\" and \"question\"")
    qid, text = item["id"], item["question"]
    if isinstance(qid, bool) or not isinstance(qid, str | int):
        raise ValueError("\"id\" must be a string or an integer")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("\"question\" must be a non-empty string")
    answer, quote = item.get("answer"), item.get("gold_quote")
    answers = answer if isinstance(answer, list) else [] if answer is None else [answer]
    if not all(isinstance(a, str | int | float) and not isinstance(a, bool) for a in answers):
        raise ValueError("\"answer\" must be a string, a number or a list of them")
    if quote is not None and not isinstance(quote, str):
        raise ValueError("\"gold_quote\" must be a string")
    return Question(qid, text, tuple(str(a) for a in answers if str(a).strip()), quote)


def read_questions(path: Path) -> list[Question]:
    questions = []
    # utf-8-sig: Notepad and Excel begin a UTF-8 file with a byte-order mark, which is not JSON
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return questions


def eval_embedder(spec: str, questions: list[Question]) -> str:
    """``auto`` normally picks the embedder from the documents as they are added; an eval
    knows its questions too, and Chinese questions over English documents need the
    multilingual model as much as Chinese documents do (Chinese questions over the Python
    tutorial and library reference: hybrid nDCG@10 0.54 / 0.55 with MiniLM, 0.70 / 0.65 with
    e5; devsets/RESULTS.md, 2026-12-07)."""
    if spec == "auto" and needs_multilingual(" ".join(q.question for q in questions)):
        return "e5"
    return spec


def pipeline_version() -> str:
    """Hash of the code that decides what gets indexed, so a cached eval knowledge base
    is rebuilt after any change to loading, chunking, analysis, BM25 scoring or the choice
    of embedder."""
    from aipath.rag import (bm25_index, dense_index, e5_weights, embeddings, ingest,
                            onnx_embedder, store)

    digest = hashlib.sha256(ingest.parser_version().encode())  # loading, chunking, analysis
    for module in (bm25_index, embeddings, onnx_embedder, e5_weights, store, ingest, dense_index):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def build_eval_kb(home: Path, docs: Path, settings: Settings,
                  progress: Progress) -> KnowledgeBase:
    files = iter_supported_files([docs])
    if not files:
        raise ValueError(f"no supported documents under {docs}")
    fingerprint = hashlib.sha256(json.dumps(
        [asdict(settings), pipeline_version()]
        + [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    ).encode()).hexdigest()[:16]
    root = home / "eval"
    name = f"eval-{fingerprint}"
    if (root / "kb" / name / "kb.sqlite").exists():
        kb = KnowledgeBase(root, name)
        if kb.meta.get("complete"):
            return kb
        kb.close()
        KnowledgeBase.drop(root, name)
    kb = KnowledgeBase.create(root, name, settings)
    report = add_documents(kb, [SourceFile.from_path(f, docs) for f in files], progress)
    if not report.added:
        kb.close()
        KnowledgeBase.drop(root, name)
        reasons = "; ".join(reason for _, reason in report.failed[:3])
        raise ValueError(f"none of the {len(files)} supported files under {docs} could be read: {reasons}")
    with kb.transaction():  # kept with the cache, so a rerun still says what was left out
        store.set_meta(kb.db, complete=True, unreadable=report.failed, copies=report.copies,
                       no_text=report.skipped)
    return kb


def run_eval(kb: KnowledgeBase, questions: list[Question], out: Path,
             config: SearchConfig, answer_backend=None,
             progress: Progress | None = None) -> Metrics | None:
    """Write RUN.jsonl; return metrics when every question carries answer + gold_quote."""
    judged: list[list[bool]] = []
    answered: list[bool] = []
    labelled = all(q.labelled for q in questions)
    with out.open("w", encoding="utf-8") as handle:
        for done, item in enumerate(questions, 1):
            hits = search(kb, item.question, config).hits
            row: dict[str, Any] = {
                "id": item.id,
                "retrieved": [{"text": h.chunk.text, "source": h.chunk.source,
                               "score": round(h.score, 6)} for h in hits],
            }
            if answer_backend is not None:
                from aipath.rag.answer import ANSWER_SOURCES, answer

                # The prompt carries what `aipath ask` would give it, not all --top-k hits.
                prompt = replace(config, top_k=min(config.top_k, ANSWER_SOURCES))
                row["answer"] = answer(kb, item.question, answer_backend, config=prompt).text
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            if labelled:
                judged.append([item.is_relevant(h.chunk.text) for h in hits])
                if "answer" in row:
                    answered.append(item.is_answered_by(row["answer"]))
            if progress:
                progress("query", done, len(questions))
    return score_run(judged, answered) if labelled else None
