"""In-process ranking experiments on the development sets, without rebuilding knowledge bases.

`dump` reads each set's eval knowledge base (built, or reused from the cache, exactly as
`aipath eval retrieval` with default settings builds it) and stores, per question, every
chunk's BM25 score, every dense window's vector, the labels, and the windows' texts and
BM25 terms. `run` then scores ranking variants against those dumps in seconds; its
`hybrid` row must equal the eval command's hybrid nDCG@10, which checks the harness.

    .venv/bin/python devsets/score_lab.py dump ROOT HOME OUT SET...   # ROOT as prepare.sh
    .venv/bin/python devsets/score_lab.py e5 OUT SET...               # e5 vectors of the windows
    .venv/bin/python devsets/score_lab.py run OUT SET...

The variants are the ones devsets/RESULTS.md reports as tried (2026-12-07).
"""

from __future__ import annotations

import json
import math
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEPTH = 50  # candidates per list, as aipath.rag.retriever.SearchConfig


def questions_of(root: Path, name: str) -> list[dict]:
    path = HERE / name / "questions.jsonl"
    path = path if path.exists() else root / name / "questions.jsonl"  # a format variant
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def dump(root: Path, home: Path, out: Path, names: list[str]) -> None:
    from aipath.rag import store
    from aipath.rag.eval_runner import build_eval_kb
    from aipath.rag.evaluation import is_relevant_passage
    from aipath.rag.kb import Settings
    from aipath.rag.text_analysis import analyze
    from aipath.rag.windows import dense_windows

    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        items = questions_of(root, name)
        kb = build_eval_kb(home, root / name / "docs", Settings(), lambda *_: None)
        dense, bm25 = kb.indexes()
        ids, sections = store.all_chunk_sections(kb.db)
        assert list(bm25.ids) == ids
        position = {chunk: k for k, chunk in enumerate(ids)}
        windows = [(k, w) for k, (heading, text) in enumerate(sections)
                   for w in dense_windows(heading, text, kb.meta["dense_window_tokens"])]
        rows = store.get_chunks(kb.db, ids)
        data = {
            "qids": [q["id"] for q in items],
            "questions": [q["question"] for q in items],
            "bm25": np.stack([bm25.scores(q["question"]) for q in items]),
            "query_vectors": kb.embedder().embed([q["question"] for q in items], kind="query"),
            "vectors": dense.vectors(),
            "vector_chunk": np.array([position[int(i)] for i in dense.ids()]),
            "relevant": np.array([[is_relevant_passage(rows[i].text, str(q["answer"]), str(q["gold_quote"]))
                                   for i in ids] for q in items]),
            "window_texts": [w for _, w in windows],
            "window_chunk": np.array([k for k, _ in windows]),
            "window_terms": [analyze(w) for _, w in windows],
            "query_terms": [analyze(q["question"]) for q in items],
        }
        assert len(data["window_texts"]) == len(data["vectors"]), "windows no longer match the index"
        (out / f"{name}.pkl").write_bytes(pickle.dumps(data))
        print(f"{name}: {len(ids)} chunks, {len(data['vectors'])} windows, {kb.meta['embedder_name']}")


def embed_e5(out: Path, names: list[str]) -> None:
    from aipath.rag.embeddings import get_embedder

    e5 = get_embedder("e5")
    for name in names:
        data = pickle.loads((out / f"{name}.pkl").read_bytes())
        data["e5_vectors"] = e5.embed(data["window_texts"], kind="passage")
        data["e5_query_vectors"] = e5.embed(data["questions"], kind="query")
        (out / f"{name}.pkl").write_bytes(pickle.dumps(data))
        print(f"{name}: {len(data['window_texts'])} windows embedded with e5")


# --- scoring ---------------------------------------------------------------------------

def best_window(d: dict, window_scores: np.ndarray) -> np.ndarray:
    """A chunk's score is its best window's (as DenseIndex.search)."""
    chunk = np.full(d["bm25"].shape[1], -np.inf, dtype=np.float32)
    np.maximum.at(chunk, d["vector_chunk"], window_scores)
    return chunk


def top(scores: np.ndarray, positive: bool) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")[:DEPTH]
    return order[scores[order] > 0] if positive else order


def zscore_fuse(lists: list[tuple[np.ndarray, bool]], weights: list[float]) -> list[int]:
    """aipath.rag.fusion.zscore over each list's top DEPTH (BM25 keeps positive scores only)."""
    fused: dict[int, float] = {}
    for (scores, positive), weight in zip(lists, weights):
        chosen = top(scores, positive)
        if len(chosen):
            values = scores[chosen].astype(np.float64)
            for i, z in zip(chosen, (values - values.mean()) / (values.std() + 1e-9)):
                fused[int(i)] = fused.get(int(i), 0.0) + weight * z
    return sorted(fused, key=lambda i: -fused[i])


def dense(d: dict, q: int) -> np.ndarray:
    return best_window(d, d["vectors"] @ d["query_vectors"][q])


def hybrid(d: dict, q: int) -> list[int]:
    return zscore_fuse([(d["bm25"][q], True), (dense(d, q), False)], [0.5, 0.5])


def window_bm25(d: dict) -> np.ndarray:
    """BM25 (same k1, b) over the dense windows instead of whole chunks, best window per chunk."""
    if "window_bm25" not in d:
        import bm25s

        index = bm25s.BM25(k1=1.2, b=0.4, method="lucene")
        index.index([t or ["\x00"] for t in d["window_terms"]], show_progress=False)
        scores = np.zeros_like(d["bm25"])
        for q, terms in enumerate(d["query_terms"]):
            if terms := [t for t in terms if t in index.vocab_dict]:
                np.maximum.at(scores[q], d["window_chunk"], np.asarray(index.get_scores(terms), dtype=np.float32))
        d["window_bm25"] = scores
    return d["window_bm25"]


def dense_prf(d: dict, q: int, k: int, beta: float) -> np.ndarray:
    """Rocchio feedback on vectors: the query moved towards its k best windows."""
    first = d["vectors"] @ d["query_vectors"][q]
    moved = d["query_vectors"][q] + beta * d["vectors"][np.argsort(-first)[:k]].mean(0)
    return best_window(d, d["vectors"] @ (moved / np.linalg.norm(moved)))


def e5_dense(d: dict, q: int) -> np.ndarray:
    return best_window(d, d["e5_vectors"] @ d["e5_query_vectors"][q])


VARIANTS: dict[str, Callable[[dict, int], list[int]]] = {
    "bm25": lambda d, q: list(top(d["bm25"][q], True)),
    "dense": lambda d, q: list(top(dense(d, q), False)),
    "hybrid": hybrid,
    "window bm25 instead of chunk bm25": lambda d, q: zscore_fuse(
        [(window_bm25(d)[q], True), (dense(d, q), False)], [0.5, 0.5]),
    "chunk bm25 .42 + window bm25 .15 + dense .42": lambda d, q: zscore_fuse(
        [(d["bm25"][q], True), (window_bm25(d)[q], True), (dense(d, q), False)], [0.425, 0.15, 0.425]),
    **{f"dense PRF k={k} beta={beta}": (lambda k, beta: lambda d, q: zscore_fuse(
        [(d["bm25"][q], True), (dense_prf(d, q, k, beta), False)], [0.5, 0.5]))(k, beta)
       for k in (2, 3, 5) for beta in (0.5, 1.0)},
    "bm25 .4 + MiniLM windows .3 + e5 windows .3": lambda d, q: zscore_fuse(
        [(d["bm25"][q], True), (dense(d, q), False), (e5_dense(d, q), False)], [0.4, 0.3, 0.3]),
}


def ndcg_at_10(relevant: list[bool]) -> float:
    gains = sum(1 / math.log2(i + 2) for i, r in enumerate(relevant[:10]) if r)
    ideal = sum(1 / math.log2(i + 2) for i in range(sum(relevant[:10])))
    return gains / ideal if ideal else 0.0


def run(out: Path, names: list[str]) -> None:
    sets = {name: pickle.loads((out / f"{name}.pkl").read_bytes()) for name in names}
    print(f"{'variant':48s}" + "".join(f"{n[:12]:>13s}" for n in names) + "         mean")
    for variant, rank in VARIANTS.items():
        if "e5" in variant and not all("e5_vectors" in d for d in sets.values()):
            continue
        row = [np.mean([ndcg_at_10([bool(d["relevant"][q, i]) for i in rank(d, q)[:10]])
                        for q in range(len(d["qids"]))]) for d in sets.values()]
        print(f"{variant:48s}" + "".join(f"{v:13.3f}" for v in row) + f"{np.mean(row):13.3f}", flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "dump":
        dump(Path(args[0]), Path(args[1]), Path(args[2]), args[3:])
    elif command == "e5":
        embed_e5(Path(args[0]), args[1:])
    elif command == "run":
        run(Path(args[0]), args[1:])
    else:
        sys.exit(__doc__)
