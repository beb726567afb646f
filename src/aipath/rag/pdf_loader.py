"""PDF pages → blocks: headings from the outline, running headers dropped, lines rejoined.

pypdf returns each page as bare lines: no paragraph breaks, no headings. Three things
recover enough structure for chunking and citing:

- the outline (bookmarks) names the sections; a line on a bookmark's page that reads as
  its title, with or without the section number ("2.1.3 持续升级的生活"), becomes a
  heading at the bookmark's depth. A PDF without bookmarks gets its headings from font
  sizes instead: a short line set at least 15 % larger than the body text is a heading,
  the largest size level 1;
- running headers and footers ("Debian 参考手册 37/ 223") repeat at the top or bottom of
  most pages with only their digits changing, and are dropped;
- a page's other lines form paragraphs, broken at headings and bullets; wrapped Chinese
  lines are joined without a space;
- justified Chinese lines come out spread ("如 果 你 想 扩 展 NM"): pypdf turns the extra
  gaps between characters into spaces, which would cut every word into single characters
  for jieba. A space between two ideographs is dropped when either of them stands alone;
  one between two words ("软件包 流行度", table cells) stays.

>>> _key("2.1.3  持续升级的生活"), _key("1.1.2 GUI 下的 shell 提示符"), _key('1.5.1 ”$PATH”变量')
('持续升级的生活', 'gui下的shell提示符', '$path变量')
>>> join_spaced_ideographs("提示如 果 你 想 扩 展 NM 的 网 络 配 置。软件包 流行度")
'提示如果你想扩展 NM 的网络配置。软件包 流行度'
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from aipath.rag.document import Block, join_wrapped
from aipath.rag.script import IDEOGRAPH, IDEOGRAPHS

_SECTION_NUMBER = re.compile(r"^(?:第\s*\d+\s*章|(?:\d+|[A-Z](?=\.\d))(?:\.\d+)*\.?)\s+")
_BULLET = re.compile(r"^\s*[•●▪◦‣\-*]\s")
_EDGE_LINES = 2  # running headers/footers live in the first or last lines of a page
_SENTENCE_END = ("。", "！", "？", "；", "：", "，", ".", "!", "?", ";", ":", ",")
_SPACE_BETWEEN_IDEOGRAPHS = re.compile(f"(?<=[{IDEOGRAPHS}]) (?=[{IDEOGRAPHS}])")


def join_spaced_ideographs(text: str) -> str:
    """Drop a space between two ideographs when the one before it or the one after it is
    a single character (its other side is not an ideograph): letter-spacing, not a word break."""

    def alone(position: int) -> bool:
        return not (0 <= position < len(text) and IDEOGRAPH.match(text[position]))

    return _SPACE_BETWEEN_IDEOGRAPHS.sub(
        lambda m: "" if alone(m.start() - 2) or alone(m.start() + 2) else " ", text)


def _key(line: str) -> str:
    """A title line's identity: no section number, spaces or quotes (fonts turn straight
    quotes curly, bookmarks keep them straight), NFKC-normalised."""
    text = unicodedata.normalize("NFKC", line).strip()
    return re.sub(r"[\s\"'“”‘’]+", "", _SECTION_NUMBER.sub("", text)).lower()


def _outline(reader) -> dict[int, dict[str, int]]:
    """page index → {title key: heading level} from the PDF's bookmarks."""
    titles: dict[int, dict[str, int]] = {}

    def walk(items: list, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a bookmark pointing nowhere is no reason to fail the file
                continue
            if page is not None and page >= 0 and item.title:
                titles.setdefault(page, {})[_key(item.title)] = min(depth + 1, 5)

    try:
        walk(reader.outline, 0)
    except Exception:  # malformed outlines are common; the text still loads
        return {}
    return titles


def _shape(line: str) -> str:
    """A line with its numbers blanked: "Manual 37/ 223" and "Manual 38/ 223" are one shape."""
    return re.sub(r"\d+", "#", line.strip())


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines that open or close most pages."""
    counts = Counter(
        _shape(line)
        for lines in pages
        for line in {*lines[:_EDGE_LINES], *lines[-_EDGE_LINES:]} if line.strip())
    needed = max(3, len(pages) // 2)
    return {shape for shape, n in counts.items() if n >= needed}


def _page_blocks(lines: list[str], number: int, levels: list[int | None],
                 running: set[str]) -> list[Block]:
    """``levels``: each line's heading level, None for body text."""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        text = join_wrapped("\n".join(paragraph).strip())
        paragraph.clear()
        if text:
            blocks.append(Block(text, page=number))

    for position, line in enumerate(lines):
        edge = position < _EDGE_LINES or position >= len(lines) - _EDGE_LINES
        if not line.strip() or (edge and _shape(line) in running):
            continue
        level = levels[position]
        if level:
            flush()
            blocks.append(Block(line.strip(), kind="heading", level=level, page=number))
        else:
            if _BULLET.match(line):
                flush()
            paragraph.append(line.strip())
    flush()
    return blocks


def pdf_blocks(reader) -> list[Block]:
    """Blocks of every page of a ``pypdf.PdfReader``, each knowing its 1-based page."""
    pages = [_sized_lines(page) for page in reader.pages]
    texts = [[line for line, _ in lines] for lines in pages]
    running = _running_lines(texts) if len(pages) >= 3 else set()
    titles = _outline(reader)
    levels = {} if titles else _heading_sizes(pages)
    blocks = []
    for index, lines in enumerate(pages):
        if titles:
            page_titles = titles.get(index, {})
            line_levels = [page_titles.get(_key(text)) for text, _ in lines]
        else:
            line_levels = [levels.get(size) if _heading_like(text) else None for text, size in lines]
        blocks += _page_blocks(texts[index], index + 1, line_levels, running)
    return blocks


def _sized_lines(page) -> list[tuple[str, float]]:  # noqa: ANN001 - pypdf PageObject
    """The page's lines, each with the largest font size its text is set in. pypdf hands
    its visitor every piece of text with the font size and matrices in force; joined, the
    pieces are exactly what ``extract_text`` returns."""
    lines: list[list] = [["", 0.0]]

    def visit(text: str, cm: list[float], tm: list[float], font: dict, size: float) -> None:
        scaled = round(size * math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1]), 1)
        for k, part in enumerate(text.split("\n")):
            if k:
                lines.append(["", 0.0])
            lines[-1][0] += part
            if part.strip():
                lines[-1][1] = max(lines[-1][1], scaled)

    page.extract_text(visitor_text=visit)
    return [(join_spaced_ideographs(text), size) for text, size in lines]


def _heading_like(line: str) -> bool:
    text = line.strip()
    return 0 < len(text) <= 80 and not text.endswith(_SENTENCE_END)


def _heading_sizes(pages: list[list[tuple[str, float]]]) -> dict[float, int]:
    """Heading level of each font size that marks headings: sizes at least 15 % above the
    body's (the size most characters are set in) that short lines use, largest first, at
    most four levels."""
    characters: Counter[float] = Counter()
    for lines in pages:
        for text, size in lines:
            characters[size] += len(text.strip())
    if not characters:
        return {}
    body = characters.most_common(1)[0][0]
    sizes = sorted({size for lines in pages for text, size in lines
                    if size >= body * 1.15 and _heading_like(text)}, reverse=True)
    return {size: level for level, size in enumerate(sizes[:4], start=1)}
