"""reStructuredText (and plain text written the same way) → blocks with real structure.

Python's documentation ships its sources as ``*.rst.txt``; many READMEs and plain-text
manuals use the same underlined titles. Reading them as flat paragraphs loses every
heading, so chunks straddle sections and carry no heading path. This reader recovers:

- section titles, underlined or over- and underlined; as in docutils, the first adornment
  style met is level 1, the next new style level 2, and so on;
- numbered titles of plain-text dumps ("第 2 章 …", "2.1. …" alone on a line, unindented),
  their level the depth of the number;
- Sphinx API entries (``.. function:: run(args, …)``, ``.. method::``, …) as headings one
  level below the enclosing entry, like the HTML loader does for rendered pages;
- literal blocks (after ``::``) and code directives kept whole as code blocks;
- grid tables as one "cell | cell" block per row, wrapped cells joined, borders gone.

Text stays verbatim (``:func:`run```, ``*name*`` are kept) so a passage quotes its source
exactly; only adornment lines, comments, directive options and bookkeeping directives are
dropped.

>>> [(b.kind, b.level, b.text) for b in rst_blocks("Title\\n=====\\n\\nSome *text*.\\n")]
[('heading', 1, 'Title'), ('paragraph', 0, 'Some *text*.')]
"""

from __future__ import annotations

import re

from aipath.rag.document import Block, join_wrapped

API_ENTRY_LEVEL = 6  # signature headings nest below section titles (levels 1–5)
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")  # a run of one punctuation char
_API = re.compile(
    r"^(\s*)\.\.\s+(?:py:)?(function|class|method|classmethod|staticmethod|attribute|data|"
    r"exception|decorator|decoratormethod|property|coroutinefunction|coroutinemethod|"
    r"abstractmethod|awaitablefunction|describe|option|cmdoption|envvar|opcode|program)"
    r"::\s*(.*)$")
_MODULE_LEVEL = {"function", "class", "data", "exception", "decorator", "coroutinefunction",
                 "awaitablefunction"}
_CODE = re.compile(r"^(\s*)\.\.\s+(?:code-block|code|sourcecode|doctest|testcode|testoutput)::")
_MODULE = re.compile(r"^\.\.\s+(?:py:)?(?:module|currentmodule)::\s*(\S+)")
_BOOKKEEPING = re.compile(
    r"^\s*\.\.\s+(?:(?:py:)?(?:module|currentmodule)|moduleauthor|sectionauthor|highlight|"
    r"include|toctree|image)::|^\s*\.\.\s+_[^:]*:|^\s*\.\.\s+\|[^|]+\|")
_OPTION = re.compile(r"^\s+:[\w-]+:")
# ".." and then neither a directive ("name::"), a target ("_"), a footnote ("[") nor a
# substitution ("|"): a comment, its indented lines with it (licence headers, notes to editors).
_COMMENT = re.compile(r"^(\s*)\.\.(?:[ \t]*$|[ \t]+(?![_\[|])(?![\w.:+-]+::(?:\s|$)))")
# "第 2 章 软件包管理", "2.1. 前提", "2.1.3 Pinning", "附录 A …": numbered titles of
# plain-text dumps (DocBook, RFC style) that have no adornment.
_CHAPTER = r"第\s*\d+\s*章|附录\s*[A-Z]"
_NUMBERED = re.compile(rf"^(?:{_CHAPTER}|(\d+(?:\.\d+)+|\d+(?=\.))\.?)\s+\S.{{0,100}}$")
_SENTENCE_END = tuple(".。,，;；:：")
_TABLE_BORDER = re.compile(r"^\s*[+|][-=+|:]*[-=][-=+|:]*[+|]\s*$")  # +---+---+ or |---+---|
_TABLE_LINE = re.compile(r"^\s*[+|].*[+|]\s*$")
_TOC_LINE = re.compile(rf"^\s*(?:{_CHAPTER}|\d+(\.\d+)+\.?|\d+\.|[A-Z]\.)\s+\S")


def _is_contents(lines: list[str]) -> bool:
    """A table of contents: a run of numbered section titles ("2.1. …", "2.1.1. …").

    It names every section, so it would match every query; the HTML loader drops it as
    navigation, and text dumps should not keep it either. A numbered list of steps
    ("1. … 2. …") has no multi-level numbers and stays.
    """
    numbered = [m for m in map(_TOC_LINE.match, lines) if m]
    multi_level = [m for m in numbered if m.group(1)]
    return len(lines) >= 4 and len(numbered) >= 0.8 * len(lines) and \
        len(multi_level) >= 0.5 * len(numbered)


def _table_rows(lines: list[str]) -> list[str]:
    """A grid table (reST grid tables, w3m/pandoc text dumps) as "cell | cell" rows.

    Border lines go; the lines between two borders are one row whose cells may wrap over
    several lines, so each cell's fragments are joined (Chinese without a space).
    """
    rows: list[list[str]] = [[]]
    for line in lines:
        if _TABLE_BORDER.match(line):
            rows.append([])
        else:
            rows[-1].append(line.strip().strip("|"))
    out = []
    for row in filter(None, rows):
        width = max(len(line.split("|")) for line in row)
        cells: list[list[str]] = [[] for _ in range(width)]
        for line in row:
            parts = line.split("|")
            for k, part in enumerate(parts if len(parts) == width else [line]):
                cells[k].append(part.strip())
        texts = [join_wrapped("\n".join(filter(None, cell))).replace("\n", " ") for cell in cells]
        if any(texts):
            out.append(" | ".join(t for t in texts if t))
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class _Reader:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.i = 0
        self.blocks: list[Block] = []
        self.paragraph: list[str] = []
        self.styles: list[tuple[str, bool]] = []  # adornment styles in order of appearance
        self.module = ""

    def flush(self) -> None:
        lines = self.paragraph[:]
        self.paragraph.clear()
        text = join_wrapped("\n".join(lines).strip())
        if text and not _is_contents(lines):
            self.blocks.append(Block(text))

    def title(self, text: str, char: str, overline: bool) -> None:
        self.flush()
        if (char, overline) not in self.styles:
            self.styles.append((char, overline))
        level = min(self.styles.index((char, overline)) + 1, API_ENTRY_LEVEL - 1)
        self.blocks.append(Block(text.strip(), kind="heading", level=level))

    def indented_body(self, base: int) -> list[str]:
        """Consume the blank or deeper-indented lines after the current one."""
        body: list[str] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip() and _indent(line) <= base:
                break
            body.append(line)
            self.i += 1
        return body

    def code(self, body: list[str]) -> None:
        lines = [line for line in body if not _OPTION.match(line)] if body else []
        while lines and not lines[0].strip():
            lines.pop(0)
        if any(line.strip() for line in lines):
            depth = min(_indent(line) for line in lines if line.strip())
            self.blocks.append(Block("\n".join(line[depth:] for line in lines).strip(),
                                     kind="code"))

    def api_entry(self, match: re.Match[str]) -> None:
        self.flush()
        indent, kind, signature = len(match.group(1)), match.group(2), match.group(3)
        self.i += 1
        while signature.endswith("\\") and self.i < len(self.lines):
            signature = signature[:-1].rstrip() + " " + self.lines[self.i].strip()
            self.i += 1
        qualified = "." in signature.split("(")[0]
        if self.module and indent == 0 and kind in _MODULE_LEVEL and not qualified:
            signature = f"{self.module}.{signature}"
        self.skip_options()
        self.blocks.append(Block(signature.strip(), kind="heading",
                                 level=API_ENTRY_LEVEL + indent // 3))

    def step(self) -> None:
        lines, i = self.lines, self.i
        line = lines[i]
        below = lines[i + 1] if i + 1 < len(lines) else ""
        if not line.strip():
            self.flush()
            self.i += 1
        elif (_ADORNMENT.match(line) and below.strip() and i + 2 < len(lines)
              and lines[i + 2].strip()[:1] == line.strip()[0] and _ADORNMENT.match(lines[i + 2])):
            self.title(below, line.strip()[0], overline=True)
            self.i += 3
        elif (not self.paragraph and not line[0].isspace() and not _ADORNMENT.match(line)
              and _ADORNMENT.match(below)):
            self.title(line, below.strip()[0], overline=False)
            self.i += 2
        elif _ADORNMENT.match(line) and not self.paragraph:
            self.i += 1  # a transition line: no words, no structure
        elif (numbered := _NUMBERED.match(line)) and (title := self.numbered_title()):
            self.flush()
            number = numbered.group(1)
            level = number.count(".") + 1 if number else 1
            self.blocks.append(Block(title, kind="heading", level=min(level, API_ENTRY_LEVEL - 1)))
        elif _TABLE_BORDER.match(line) and not self.paragraph:
            self.flush()
            end = self.i
            while end < len(self.lines) and _TABLE_LINE.match(self.lines[end]):
                end += 1
            rows = _table_rows(self.lines[self.i:end])
            self.blocks.extend(Block(row, kind="table") for row in rows)
            self.i = end
        elif api := _API.match(line):
            self.api_entry(api)
        elif code := _CODE.match(line):
            self.flush()
            self.i += 1
            self.code(self.indented_body(len(code.group(1))))
        elif not self.paragraph and (comment := _COMMENT.match(line)):
            self.flush()
            self.i += 1
            if line.strip() != ".." or below.strip():  # an empty comment ends only itself
                self.indented_body(len(comment.group(1)))
        elif _BOOKKEEPING.match(line):
            self.flush()
            if module := _MODULE.match(line):
                self.module = module.group(1)
            self.i += 1
            self.skip_options()
        else:
            self.paragraph.append(line.strip())
            self.i += 1
            if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
                self.literal_block(_indent(line))

    def skip_options(self) -> None:
        """Pass the ``:option:`` lines right under a directive (settings, not text)."""
        while self.i < len(self.lines) and _OPTION.match(self.lines[self.i]):
            self.i += 1

    def numbered_title(self) -> str | None:
        """The title opening at the current line, consumed, or None.

        A numbered title stands alone between blank lines, unindented, and is not a
        sentence; a long one wraps onto at most two more unindented lines (FAQ questions).
        """
        if self.paragraph or self.lines[self.i][0].isspace():
            return None
        end = self.i + 1
        while (end < len(self.lines) and end - self.i < 3 and self.lines[end].strip()
               and not self.lines[end][0].isspace()):
            end += 1
        title = join_wrapped("\n".join(line.strip() for line in self.lines[self.i:end]))
        if ((end < len(self.lines) and self.lines[end].strip()) or len(title) > 160
                or title.endswith(_SENTENCE_END)):
            return None
        self.i = end
        return title.replace("\n", " ")

    def literal_block(self, base: int) -> None:
        """``Paragraph::`` followed by a deeper-indented block: that block is code."""
        j = self.i
        while j < len(self.lines) and not self.lines[j].strip():
            j += 1
        if j < len(self.lines) and _indent(self.lines[j]) > base and j > self.i:
            self.flush()
            self.code(self.indented_body(base))

    def read(self) -> list[Block]:
        while self.i < len(self.lines):
            self.step()
        self.flush()
        return self.blocks


def rst_blocks(text: str) -> list[Block]:
    """Blocks of reStructuredText or plain text, headings with their levels."""
    return _Reader(text).read()


_ROLE = re.compile(r":[\w.+-]+(?::[\w.+-]+)*:`!?~?([^`<]*?)\s*(?:<[^`>]*>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]*>`_{1,2}")
_LITERAL = re.compile(r"``(.+?)``")
_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,2})(?=\S)([^*\n]+?)(?<=\S)\1(?![\w*])")


def strip_inline_markup(text: str) -> str:
    """Inline reST markup → its words, for what is embedded and BM25-indexed.

    Role names (``func``, ``meth``, …) are not words of the text, and the embedder reads
    backticks and asterisks as noise; the stored passage keeps the markup.

    >>> strip_inline_markup("Call :func:`~os.path.join` with *paths*, see `docs <https://x>`_.")
    'Call os.path.join with paths, see docs.'
    """
    text = _ROLE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    return _EMPHASIS.sub(r"\2", text)
