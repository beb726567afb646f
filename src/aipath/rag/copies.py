"""Copies of one text in other formats, found by their shingles.

Documentation packages ship a manual several times over: Debian's FAQ as HTML chapters, one
``.txt.gz`` and a PDF; the Debian reference as HTML, text and PDF; the Debian Edu manual as
HTML, EPUB and PDF. Added together, every passage is stored three times, and a question's
top results are three copies of one passage. The content hash cannot see this (the bytes
differ), so documents are compared by what they say.

A text's *shingles* are its runs of ``SHINGLE`` consecutive words (a Chinese character counts
as a word). Broder's modulo sampling keeps the shingles whose hash is divisible by
``SAMPLE``: two texts keep the same sample of what they share, so the share of a document's
kept shingles already seen elsewhere estimates the share of its text that is a copy.

>>> index = CopyIndex()
>>> manual = "Debian is a free operating system. " * 3 + "It ships tens of thousands of packages."
>>> index.add("faq.html", fingerprint(manual, sample=1), format_rank("faq.html"))
>>> index.match(fingerprint(manual.upper(), sample=1), format_rank("faq.txt"), min_shingles=5)
(1.0, 'faq.html')
>>> index.match(fingerprint(manual, sample=1), format_rank("faq-copy.html"), min_shingles=5)
>>> index.match(fingerprint("Something else entirely, in words of its own.", sample=1), 2, min_shingles=5)
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from pathlib import PurePath

import numpy as np

from aipath.rag.script import IDEOGRAPHS

SHINGLE = 5
SAMPLE = 8
COPY_SHARE = 0.9  # format copies measured 0.92-0.99; two releases of one manual about 0.85
MIN_SHINGLES = 20  # sampled: about 160 words; a shorter text has too few to judge
_WORD = re.compile(rf"[{IDEOGRAPHS}]|[^\W_]+")  # a Chinese character is a word, as in evaluation
# Which copy of a batch is kept: the one whose loader recovers the most structure.
_RANK = {".html": 0, ".htm": 0, ".xhtml": 0, ".md": 1, ".markdown": 1, ".rst": 1, ".docx": 1,
         ".epub": 1, ".txt": 2, ".pdf": 3}


def fingerprint(text: str, sample: int = SAMPLE) -> set[int]:
    """The sampled shingle hashes of ``text`` (case and punctuation ignored)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return set()
    codes = {w: zlib.crc32(w.encode()) for w in set(words)}
    h = np.array([codes[w] for w in words], dtype=np.uint64)
    shingles = np.zeros(len(words) - SHINGLE + 1, dtype=np.uint64)
    for k in range(SHINGLE):  # a polynomial hash of the run, modulo 2**64
        shingles = shingles * np.uint64(1_000_003) + h[k:len(h) - SHINGLE + 1 + k]
    shingles ^= shingles >> np.uint64(29)
    return set(shingles[shingles % np.uint64(sample) == 0].tolist())


def pack(prints: set[int]) -> bytes:
    """A fingerprint as stored with its document: sorted little-endian uint64s.

    >>> unpack(pack({3, 1, 2**64 - 1})) == {1, 3, 2**64 - 1}
    True
    """
    return np.array(sorted(prints), dtype="<u8").tobytes()


def unpack(blob: bytes) -> set[int]:
    return set(np.frombuffer(blob, dtype="<u8").tolist())


def format_rank(name: str) -> int:
    """Lower is kept first: HTML, then the structured formats, plain text, PDF last."""
    suffixes = [s.lower() for s in PurePath(name).suffixes if s.lower() != ".gz"]
    return _RANK.get(suffixes[-1] if suffixes else "", 1)


def distinct(texts: list[str], limit: int, share: float = COPY_SHARE) -> list[int]:
    """Positions of the first ``limit`` texts that do not repeat an earlier one kept: a
    passage of two releases of one manual is shown once, from the better-ranked release.

    >>> distinct(["apt install pkg installs the package and its dependencies",
    ...           "apt  install PKG installs the package and its dependencies",
    ...           "apt remove pkg removes the package but keeps its configuration"], 2)
    [0, 2]
    """
    kept: list[set[int]] = []
    out = []
    for k, text in enumerate(texts):
        prints = fingerprint(text, sample=1) or {hash(" ".join(_WORD.findall(text.lower())))}
        if not any(len(prints & seen) >= share * len(prints) for seen in kept):
            kept.append(prints)
            out.append(k)
            if len(out) == limit:
                break
    return out


class CopyIndex:
    """The shingles of the documents kept so far, each with the first document that had it
    and that document's format rank. Add documents in rank order, so the first is the best."""

    def __init__(self) -> None:
        self.owner: dict[int, tuple[int, str]] = {}

    def add(self, name: str, prints: set[int], rank: int = 0) -> None:
        for p in prints:
            self.owner.setdefault(p, (rank, name))

    def match(self, prints: set[int], rank: int = 1, min_shingles: int = MIN_SHINGLES,
              share: float = COPY_SHARE) -> tuple[float, str] | None:
        """(share seen, the document holding most of it) when ``prints`` repeats documents of
        a better format (rank below ``rank``), else None."""
        if len(prints) < min_shingles:
            return None
        owners = Counter(self.owner[p][1] for p in prints if p in self.owner and self.owner[p][0] < rank)
        seen = sum(owners.values()) / len(prints)
        return (round(seen, 3), owners.most_common(1)[0][0]) if seen >= share else None
