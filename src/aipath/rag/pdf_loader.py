"""PDF pages → blocks: headings from the outline, running headers dropped, lines rejoined.

PDFium (``pypdfium2``, the engine Chrome prints and reads PDFs with) returns each page as
bare lines: no paragraph breaks, no headings. PDFium rather than pypdf because LaTeX
(xelatex, dblatex: most Chinese technical PDFs) sets word gaps as kerning inside one text
run, with no space glyph; pypdf guesses a space only beyond a width it takes from the font
and glued whole lines together ("LinuxCNCisfreesoftwarewithopensourcecode"), while PDFium
places every glyph and knows where words end. It also marks end-of-line hyphenation
(``\x02``), so "li-/censed" comes back as one word. Three things recover enough
structure for chunking and citing:

- the outline (bookmarks) names the sections; a line on a bookmark's page that reads as
  its title, with or without the section number ("2.1.3 持续升级的生活"), becomes a
  heading at the bookmark's depth. A PDF without bookmarks gets its headings from font
  sizes instead: a short line set at least 15 % larger than the body text is a heading,
  the largest size level 1;
- running headers and footers ("Debian 参考手册 37/ 223") repeat at the top or bottom of
  most pages with only their digits changing, and are dropped, as are table-of-contents
  lines (a title, dot leaders, a page number);
- a page's other lines form paragraphs, broken at headings and bullets; wrapped Chinese
  lines are joined without a space;
- justified Chinese lines can come out spread ("如 果 你 想 扩 展 NM") when an extractor
  turns the extra gaps between characters into spaces, which would cut every word into
  single characters for jieba. A space between two ideographs is dropped when either of
  them stands alone; one between two words ("软件包 流行度", table cells) stays.

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
# A table-of-contents line: a title, dot leaders, a page number ("1.1 Software . . . . 1",
# "安装……12"). It repeats every title without the text and would win searches for titles.
_CONTENTS_LINE = re.compile(r"(?:(?:\.\s?){4,}|…{2,}|(?:·\s?){4,})\s*[0-9ivxlc]+\s*$",
                            re.IGNORECASE)
_SENTENCE_END = ("。", "！", "？", "；", "：", "，", ".", "!", "?", ";", ":", ",")
_SIZE_SAMPLES = 8  # characters a line whose font size is read: enough for a heading
_SOFT_HYPHEN = "\x02"  # PDFium's mark for a hyphen that ended a line
_HYPHENATED = re.compile(rf"([\w-]*\w){_SOFT_HYPHEN}(\w[\w-]*)")
_COMPOUND = re.compile(r"\w+(?:-\w+)+")
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


def _outline(pdf) -> dict[int, dict[str, int]]:  # noqa: ANN001 - pypdfium2 PdfDocument
    """page index → {title key: heading level} from the PDF's bookmarks."""
    from pypdfium2 import PdfiumError

    titles: dict[int, dict[str, int]] = {}
    try:
        for bookmark in pdf.get_toc(max_depth=15):
            destination = bookmark.get_dest()
            page = destination.get_index() if destination is not None else None
            title = bookmark.get_title()
            if page is not None and page >= 0 and title:  # one pointing nowhere is skipped
                titles.setdefault(page, {})[_key(title)] = min(bookmark.level + 1, 5)
    except PdfiumError:  # malformed outlines are common; the text still loads
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
        if not line.strip() or _CONTENTS_LINE.search(line) or (edge and _shape(line) in running):
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


def _dehyphenate(pages: list[list[tuple[str, float]]]) -> list[list[tuple[str, float]]]:
    """Resolve each line-end hyphen PDFium joined across lines: a compound the document
    spells with its hyphen elsewhere (apt-get, dpkg-reconfigure) or one whose second part
    starts with a capital or digit (MS-DOS, RT-11) keeps it; a word the typesetter split
    (li-censed) loses it.

    >>> _dehyphenate([[("run apt\x02get for the li\x02censed MS\x02DOS apt-get", 10.0)]])
    [[('run apt-get for the licensed MS-DOS apt-get', 10.0)]]
    """
    compounds = {word for lines in pages for text, _ in lines for word in _COMPOUND.findall(text)}

    def join(match: re.Match) -> str:
        left, right = match.groups()
        keep = f"{left}-{right}" in compounds or not right[0].islower()
        return f"{left}-{right}" if keep else left + right

    return [[(_HYPHENATED.sub(join, text).replace(_SOFT_HYPHEN, "-"), size) for text, size in lines]
            for lines in pages]


def pdf_blocks(pdf) -> list[Block]:  # noqa: ANN001 - pypdfium2 PdfDocument
    """Blocks of every page of a ``pypdfium2.PdfDocument``, each knowing its 1-based page."""
    pages = _dehyphenate([_sized_lines(pdf[index]) for index in range(len(pdf))])
    texts = [[line for line, _ in lines] for lines in pages]
    running = _running_lines(texts) if len(pages) >= 3 else set()
    titles = _outline(pdf)
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


def _sized_lines(page) -> list[tuple[str, float]]:  # noqa: ANN001 - pypdfium2 PdfPage
    """The page's lines, each with the largest font size its text is set in (the font's
    size scaled by the character's matrix, so text drawn at 1 pt and scaled up counts at
    the size it shows), sampled at ``_SIZE_SAMPLES`` characters a line. PDFium's
    characters include the spaces and line breaks it generates from the glyphs' positions;
    a line-end hyphen comes as ``_SOFT_HYPHEN``, with the next line's start joined on
    (``_dehyphenate`` decides what it was)."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    lines: list[tuple[list[str], list[int]]] = [([], [])]  # characters, indices of visible ones
    for index in range(textpage.count_chars()):
        character = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
        if character == "\n":
            lines.append(([], []))
        elif character == "\t" or character >= " " or character == _SOFT_HYPHEN:
            lines[-1][0].append(character)
            if not character.isspace():
                lines[-1][1].append(index)
    matrix = pdfium_c.FS_MATRIX()

    def size(index: int) -> float:
        pdfium_c.FPDFText_GetMatrix(textpage.raw, index, matrix)
        return round(pdfium_c.FPDFText_GetFontSize(textpage.raw, index)
                     * math.hypot(matrix.a, matrix.b), 1)

    sized = [(join_spaced_ideographs("".join(text)),
              max((size(i) for i in visible[::max(1, len(visible) // _SIZE_SAMPLES)]), default=0.0))
             for text, visible in lines]
    textpage.close()
    return sized


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
