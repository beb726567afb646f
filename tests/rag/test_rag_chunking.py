"""Chunkers: offsets are exact, sizes respect the token budget, structure is followed."""

from __future__ import annotations

import pytest

from aipath.rag.chunking import RecursiveChunker, SlidingWindowChunker, make_chunker, sentence_spans
from aipath.rag.document import Block, Document, with_heading_paths
from aipath.rag.tokens import RegexTokenizer, TokenOffsets, default_tokenizer


def _doc() -> Document:
    english = " ".join(f"Sentence number {i} talks about vectors and indexes." for i in range(30))
    chinese = "".join(f"第{i}句讲的是向量检索。" for i in range(40))
    return Document("d.md", with_heading_paths([
        Block("Guide", "heading", 1), Block("Short intro."),
        Block("English", "heading", 2), Block(english),
        Block("中文", "heading", 2), Block(chinese),
    ]))


def test_sentence_spans_handle_chinese_and_english() -> None:
    text = "他说：“好的。”然后走了！Smith arrived. It was 3.5 km? Yes\nnext line"
    got = [text[a:b] for a, b in sentence_spans(text, 0, len(text))]
    assert got == ["他说：“好的。”", "然后走了！", "Smith arrived.", "It was 3.5 km?", "Yes",
                   "next line"]


@pytest.mark.parametrize("tokenizer", [RegexTokenizer(), default_tokenizer()])
def test_recursive_chunks_fit_budget_and_point_into_text(tokenizer) -> None:
    doc = _doc()
    chunker = RecursiveChunker(max_tokens=40, overlap_tokens=10, tokenizer=tokenizer)
    chunks = chunker.split(doc)
    offsets = TokenOffsets(doc.text, tokenizer)
    assert len(chunks) > 5
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert offsets.count(chunk.start, chunk.end) <= 40
    # Every character of content is covered by some chunk.
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    content = {i for b in doc.blocks for i in range(b.start, b.end) if not doc.text[i].isspace()}
    assert content <= covered


def test_recursive_chunker_starts_at_headings_and_keeps_heading_paths() -> None:
    doc = _doc()
    chunks = RecursiveChunker(max_tokens=60, overlap_tokens=0, tokenizer=RegexTokenizer()).split(doc)
    starts = {c.start for c in chunks}
    guide, intro, english, _, chinese_heading, _ = doc.blocks
    assert guide.start in starts and chinese_heading.start in starts
    # The tiny intro section (< a quarter of the budget) is merged with the next one.
    assert english.start not in starts
    assert any(c.start == guide.start and english.text in c.text for c in chunks)
    chinese = [c for c in chunks if "向量检索" in c.text]
    assert chinese and all(c.heading_path == ("Guide", "中文") for c in chinese)
    # Chinese sentences are never cut in the middle when they fit.
    for chunk in chinese:
        body = chunk.text.removeprefix("中文\n\n")
        assert body.endswith("。")


def test_recursive_overlap_repeats_trailing_sentences() -> None:
    doc = _doc()
    chunks = RecursiveChunker(max_tokens=40, overlap_tokens=12, tokenizer=RegexTokenizer()).split(doc)
    english = [c for c in chunks if "Sentence number" in c.text]
    overlaps = [a.end > b.start for a, b in zip(english, english[1:])]
    assert all(overlaps)


def test_sliding_window_equals_naive_token_windows() -> None:
    doc = _doc()
    tokenizer = RegexTokenizer()
    spans = tokenizer.offsets(doc.text)
    size, stride = 25, 20
    expected = []
    for i in range(0, len(spans), stride):
        window = spans[i:i + size]
        expected.append(doc.text[window[0][0]:window[-1][1]])
        if i + size >= len(spans):
            break
    got = [c.text for c in SlidingWindowChunker(size, stride, tokenizer).split(doc)]
    assert got == expected


def test_fixed_window_has_no_overlap() -> None:
    doc = _doc()
    chunks = make_chunker("fixed", 30, tokenizer=RegexTokenizer()).split(doc)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))


def test_unknown_chunker_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown chunker"):
        make_chunker("semantic")
