"""Chunkers: structure-aware recursive (default), fixed window, sliding window.

All three size chunks in tokens of the embedding model and return slices of the
document's text, so every chunk keeps exact character offsets, its page and heading path.

The recursive chunker descends headings → paragraphs → sentences → token windows only as
far as needed for each piece to fit, then packs consecutive pieces into chunks, starting
a fresh chunk at a heading (unless the current chunk is still a tiny section) and
carrying a few trailing sentences over as overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aipath.rag.defaults import CHUNK_OVERLAP, CHUNK_TOKENS
from aipath.rag.document import Block, Chunk, Document
from aipath.rag.tokens import TokenOffsets, Tokenizer, default_tokenizer

# A section this small (or under a quarter of the chunk) joins the next section's chunk.
# Fixed rather than a share of the chunk: with 600-token chunks a quarter would merge
# whole sections and the chunk's heading would name only the first.
SMALL_SECTION_TOKENS = 75

# A sentence ends at Chinese 。！？； (no space needed), at . ! ? followed by space, or at a
# line break; closing quotes and brackets stay with their sentence.
_SENTENCE_END = re.compile(
    r"(?:[。！？；…]+[”’」』）)]*)"
    r"|(?:[.!?]+[\"')\]]*(?=\s))"
    r"|(?:\n)"
)


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentence spans (whitespace between them dropped).

    >>> s = "第一句。第二句！Third one. Fourth?"
    >>> [s[a:b] for a, b in sentence_spans(s, 0, len(s))]
    ['第一句。', '第二句！', 'Third one.', 'Fourth?']
    """
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    return [_strip(text, a, b) for a, b in spans if text[a:b].strip()]


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


@dataclass
class _Piece:
    start: int
    end: int
    tokens: int
    block: Block


@dataclass
class RecursiveChunker:
    """Headings → paragraphs → sentences → token windows, packed up to ``max_tokens``."""

    max_tokens: int = CHUNK_TOKENS
    overlap_tokens: int = CHUNK_OVERLAP
    tokenizer: Tokenizer | None = None

    def __post_init__(self) -> None:
        assert self.max_tokens > 0 and 0 <= self.overlap_tokens < self.max_tokens

    def split(self, document: Document) -> list[Chunk]:
        offsets = TokenOffsets(document.text, self.tokenizer or default_tokenizer())
        pieces = [p for block in document.blocks for p in self._pieces(document.text, block, offsets)]
        return self._pack(document.text, pieces)

    def _pieces(self, text: str, block: Block, offsets: TokenOffsets) -> list[_Piece]:
        tokens = offsets.count(block.start, block.end)
        if tokens <= self.max_tokens:
            return [_Piece(block.start, block.end, tokens, block)]
        pieces = []
        for a, b in sentence_spans(text, block.start, block.end):
            n = offsets.count(a, b)
            if n <= self.max_tokens:
                pieces.append(_Piece(a, b, n, block))
            else:
                windows = offsets.windows(a, b, self.max_tokens, self.max_tokens)
                pieces.extend(_Piece(s, e, offsets.count(s, e), block) for s, e in windows)
        return pieces

    def _pack(self, text: str, pieces: list[_Piece]) -> list[Chunk]:
        chunks: list[Chunk] = []
        current: list[_Piece] = []
        fresh = 0  # pieces of `current` not already emitted in the previous chunk

        def emit() -> None:
            if fresh:
                chunks.append(_make_chunk(text, current))

        for piece in pieces:
            size = sum(p.tokens for p in current)
            # A heading opens a new chunk unless the current one is still small: tiny
            # sections (one API method, one FAQ answer) retrieve better merged with the next.
            at_heading = (piece.block.kind == "heading" and piece.start == piece.block.start
                          and size >= min(SMALL_SECTION_TOKENS, self.max_tokens // 4))
            if current and (at_heading or size + piece.tokens > self.max_tokens):
                emit()
                current = [] if at_heading else self._overlap(current, piece.tokens)
                fresh = 0
            current.append(piece)
            fresh += 1
        emit()
        return chunks

    def _overlap(self, previous: list[_Piece], incoming: int) -> list[_Piece]:
        """Trailing pieces of the last chunk (within one block) that fit the overlap budget."""
        kept: list[_Piece] = []
        budget = min(self.overlap_tokens, self.max_tokens - incoming)
        for piece in reversed(previous):
            if piece.block.kind == "heading" or piece.tokens > budget:
                break
            if kept and piece.block is not kept[0].block:
                break
            kept.insert(0, piece)
            budget -= piece.tokens
        return kept


def _make_chunk(text: str, pieces: list[_Piece]) -> Chunk:
    start, end = pieces[0].start, pieces[-1].end
    body = next((p.block for p in pieces if p.block.kind != "heading"), pieces[0].block)
    return Chunk(text[start:end], start, end, body.page, body.heading_path)


@dataclass
class SlidingWindowChunker:
    """Windows of ``size`` tokens every ``stride`` tokens, blind to structure."""

    size: int = CHUNK_TOKENS
    stride: int = CHUNK_TOKENS - CHUNK_OVERLAP
    tokenizer: Tokenizer | None = None

    def __post_init__(self) -> None:
        assert 0 < self.stride <= self.size

    def split(self, document: Document) -> list[Chunk]:
        offsets = TokenOffsets(document.text, self.tokenizer or default_tokenizer())
        return [
            _locate(document, document.text[s:e], s, e)
            for s, e in offsets.windows(0, len(document.text), self.size, self.stride)
        ]


def _locate(document: Document, text: str, start: int, end: int) -> Chunk:
    """A chunk takes page and heading path from the block its first character lies in."""
    block = next((b for b in document.blocks if b.end > start), document.blocks[-1])
    return Chunk(text, start, end, block.page, block.heading_path)


CHUNKERS = ("recursive", "fixed", "sliding")


def make_chunker(kind: str = "recursive", max_tokens: int = CHUNK_TOKENS, overlap: int = CHUNK_OVERLAP,
                 tokenizer: Tokenizer | None = None) -> RecursiveChunker | SlidingWindowChunker:
    if kind == "recursive":
        return RecursiveChunker(max_tokens, overlap, tokenizer)
    if kind == "fixed":  # non-overlapping: a sliding window whose stride is its size
        return SlidingWindowChunker(max_tokens, max_tokens, tokenizer)
    if kind == "sliding":
        return SlidingWindowChunker(max_tokens, max_tokens - overlap, tokenizer)
    raise ValueError(f"unknown chunker '{kind}'; choose one of {', '.join(CHUNKERS)}")
