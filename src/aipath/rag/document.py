"""The shapes text takes on its way into a knowledge base: Block → Document → Chunk.

A loader turns a file into a ``Document``: an ordered list of ``Block``s (a heading, a
paragraph, a code block, …), each knowing its page and the heading path above it. The
document's ``text`` is the blocks joined by blank lines, and every block records its
character offsets into that text, so a chunk can always point back to where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aipath.rag.script import CJK_PUNCTUATION, IDEOGRAPHS

_CJK = IDEOGRAPHS + CJK_PUNCTUATION
_CJK_WRAP = re.compile(rf"(?<=[{_CJK}])[^\S\n]*\n\s*(?=[{_CJK}])")
_TOKEN_WRAP = re.compile(r"(?<=\S[/-])\n\s*(?=[\w~.])")


def join_wrapped(text: str) -> str:
    r"""Drop line breaks that are not word breaks.

    Hard-wrapped Chinese (plain-text manuals, HTML sources, PDF lines) has no spaces
    between words, so a wrap between two CJK characters is not a word boundary; browsers
    render it as nothing. Text dumps also wrap right after the "/" or "-" inside a path or
    a command (``~/.ssh/`` + ``known_hosts``). Kept, such wraps split words for jieba and
    put spaces inside file names and quotes.

    >>> join_wrapped("提供到其他文档的\n    链接。 English\nwraps stay.")
    '提供到其他文档的链接。 English\nwraps stay.'
    >>> join_wrapped('在本机 "~/.ssh/\n    known_hosts" 里，用 apt-\nget')
    '在本机 "~/.ssh/known_hosts" 里，用 apt-get'
    """
    return _TOKEN_WRAP.sub("", _CJK_WRAP.sub("", text))


def collapse_whitespace(text: str) -> str:
    """One line of HTML text: breaks between CJK characters removed (as browsers render
    them), every other run of whitespace one space."""
    return re.sub(r"\s+", " ", _CJK_WRAP.sub("", text)).strip()


class NoOwnText(ValueError):
    """A well-formed file that only points to others: a man page's ``.so`` link, the index
    file of a split Info manual, a generated HTML index. Nothing to index, and nothing wrong
    either."""


@dataclass
class Block:
    """One structural unit of a document."""

    text: str
    kind: str = "paragraph"  # heading | paragraph | code | list | table
    level: int = 0  # heading level (1 = top); 0 for non-headings
    page: int | None = None  # 1-based page for paginated formats (PDF)
    heading_path: tuple[str, ...] = ()  # headings above this block, outermost first
    start: int = 0  # offsets into Document.text, filled by Document.__post_init__
    end: int = 0


@dataclass
class Document:
    """Extracted text of one file plus its structure."""

    source: str
    blocks: list[Block]
    title: str = ""
    text: str = field(init=False)

    SEP = "\n\n"

    def __post_init__(self) -> None:
        parts: list[str] = []
        offset = 0
        for block in self.blocks:
            if parts:
                offset += len(self.SEP)
            block.start, block.end = offset, offset + len(block.text)
            parts.append(block.text)
            offset = block.end
        self.text = self.SEP.join(parts)
        if not self.title:
            self.title = next((b.text for b in self.blocks if b.kind == "heading"), "")


@dataclass
class Chunk:
    """A retrievable passage: a slice ``[start, end)`` of its document's text."""

    text: str
    start: int
    end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)


def with_heading_paths(blocks: list[Block]) -> list[Block]:
    """Fill each block's ``heading_path`` from the headings that precede it.

    >>> bs = with_heading_paths([Block("A", "heading", 1), Block("x"),
    ...                          Block("B", "heading", 2), Block("y")])
    >>> [b.heading_path for b in bs]
    [('A',), ('A',), ('A', 'B'), ('A', 'B')]
    """
    stack: list[tuple[int, str]] = []
    for block in blocks:
        if block.kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.text))
        block.heading_path = tuple(text for _, text in stack)
    return blocks
