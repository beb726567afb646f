"""Validate the development sets: every question's answer must occur together with more
than half of its gold_quote's words inside one ~600-character window of the loader's
extracted text of some file in the set (the same test the eval applies to a passage).

Run:  .venv/bin/python devsets/validate.py [-v] [--chunks] [SET ...]
Prints pass counts per set and every failing line; exits non-zero if any line fails.
-v also lists questions whose relevant text occurs in more than one file, and how many
questions point at each file. --chunks also splits the documents with the eval's default
chunker (recursive, 200 tokens, overlap 32) and reports questions that no single chunk
can satisfy (those would cap recall below 1 whatever the retriever does).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from aipath.rag.evaluation import is_relevant_passage, normalise
from aipath.rag.loaders import load_file

HERE = Path(__file__).resolve().parent
SETS = ("py-library", "py-tutorial", "debian-faq-zh", "debian-ref-zh",  # development
        "debian-maint-zh", "git-manual", "bash-manual", "debian-edu-zh",  # confirmation
        "debian-man-zh", "debian-man-en")
WINDOW, STEP = 600, 200
KEYS = ("id", "question", "answer", "gold_quote")


def windows(text: str):
    for start in range(0, max(1, len(text) - WINDOW + STEP), STEP):
        yield text[start:start + WINDOW]


def check_set(name: str) -> tuple[int, int, list[str]]:
    folder = HERE / name
    files = [Path(p) for p in (folder / "files.txt").read_text().split() if p]
    problems: list[str] = []
    names = Counter(p.name for p in files)
    problems += [f"{name}: file name {n} appears {c} times" for n, c in names.items() if c > 1]
    texts = {p.name: load_file(p).text for p in files}
    lines = [l for l in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
             if l.strip()]
    seen_ids: set[str] = set()
    passed = 0
    hits_per_file: Counter[str] = Counter()
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{name}:{number}: bad JSON ({exc.msg})")
            continue
        if any(not isinstance(item.get(k), str) or not item[k].strip() for k in KEYS):
            problems.append(f"{name}:{number}: needs non-empty string fields {KEYS}")
            continue
        if item["id"] in seen_ids:
            problems.append(f"{name}:{number}: duplicate id {item['id']}")
        seen_ids.add(item["id"])
        answer, quote = item["answer"], item["gold_quote"]
        if normalise(answer) not in normalise(quote):
            problems.append(f"{name}:{number} {item['id']}: answer is not inside gold_quote")
        found = [f for f, t in texts.items()
                 if any(is_relevant_passage(w, answer, quote) for w in windows(t))]
        verbatim = any(normalise(quote) in normalise(t) for t in texts.values())
        if not found:
            problems.append(f"{name}:{number} {item['id']}: no window holds answer {answer!r} "
                            f"with most of the gold quote")
            continue
        if not verbatim:
            problems.append(f"{name}:{number} {item['id']}: gold_quote is not verbatim in any "
                            f"file (still passes the window test)")
        passed += 1
        hits_per_file.update(found[:1])
        if "-v" in sys.argv and len(found) > 1:
            print(f"  note {item['id']}: relevant text in {len(found)} files: {found}")
    if "-v" in sys.argv:
        print(f"  {name} questions per file: {dict(hits_per_file)}")
    if "--chunks" in sys.argv:
        from aipath.rag.chunking import make_chunker

        chunker = make_chunker("recursive", 200, 32)
        chunks = [c.text for p in files for c in chunker.split(load_file(p))]
        for line in lines:
            item = json.loads(line)
            if not any(is_relevant_passage(c, item["answer"], item["gold_quote"]) for c in chunks):
                problems.append(f"{name} {item['id']}: no default-size chunk holds the answer "
                                f"with most of the gold quote")
    return passed, len(lines), problems


def main() -> int:
    chosen = [a for a in sys.argv[1:] if not a.startswith("-")] or list(SETS)
    failed = False
    for name in chosen:
        passed, total, problems = check_set(name)
        print(f"{name}: {passed}/{total} questions pass")
        for p in problems:
            print("  " + p)
        failed |= passed != total or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
