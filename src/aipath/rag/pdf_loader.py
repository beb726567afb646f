"""PDF pages → blocks: headings from the outline, running headers dropped, lines rejoined.

pypdf returns each page as bare lines: no paragraph breaks, no headings. Three things
recover enough structure for chunking and citing:

- the outline (bookmarks) names the sections; a line on a bookmark's page that reads as
  its title, with or without the section number ("2.1.3 持续升级的生活"), becomes a
  heading at the bookmark's depth;
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

import re
import unicodedata
from collections import Counter

from aipath.rag.document import Block, join_wrapped
from aipath.rag.script import IDEOGRAPH, IDEOGRAPHS

_SECTION_NUMBER = re.compile(r"^(?:第\s*\d+\s*章|(?:\d+|[A-Z](?=\.\d))(?:\.\d+)*\.?)\s+")
_BULLET = re.compile(r"^\s*[•●▪◦‣\-*]\s")
_EDGE_LINES = 2  # running headers/footers live in the first or last lines of a page
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


def _page_blocks(lines: list[str], number: int, titles: dict[str, int],
                 running: set[str]) -> list[Block]:
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
        level = titles.get(_key(line))
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
    pages = [join_spaced_ideographs(page.extract_text() or "").split("\n") for page in reader.pages]
    titles = _outline(reader)
    running = _running_lines(pages) if len(pages) >= 3 else set()
    return [block for index, lines in enumerate(pages)
            for block in _page_blocks(lines, index + 1, titles.get(index, {}), running)]
