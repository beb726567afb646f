"""Man pages → blocks: the text ``man`` shows, with its sections as headings.

Debian's documentation is mostly man pages (``/usr/share/man/man1/ls.1.gz``). Both macro
packages are read: man(7), which help2man, pod2man and DocBook write, and BSD's mdoc(7)
(OpenSSH's pages; ``aipath.rag.mdoc``). The troff underneath is ``aipath.rag.roff``.

- ``.TH LS 1`` gives the level-1 heading ``ls(1)``, spelled as the NAME section spells it;
  ``.SH`` is level 2, ``.SS`` level 3; the document's title is the NAME line ("ls - list
  directory contents").
- ``.TP``/``.IP`` tags (an option such as ``-a, --all``) are paragraphs of their own, as an
  HTML ``<dt>`` is; the description is the paragraph after.
- ``.nf``/``.EX`` blocks are code; ``tbl`` tables give a block per row, cells joined " | ".

A page that only points to another (``.so man1/other.1``) has no text of its own.

>>> blocks, title = man_blocks('.TH LS 1\\n.SH NAME\\nls \\\\- list directory contents\\n'
...                            '.SH OPTIONS\\n.TP\\n\\\\fB\\\\-a\\\\fR, \\\\fB\\\\-\\\\-all\\\\fR\\n'
...                            'do not ignore entries\\nstarting with .\\n')
>>> title, [(b.kind, b.level, b.text) for b in blocks]
('ls - list directory contents', [('heading', 1, 'ls(1)'), ('heading', 2, 'NAME'), \
('paragraph', 0, 'ls - list directory contents'), ('heading', 2, 'OPTIONS'), \
('paragraph', 0, '-a, --all'), ('paragraph', 0, 'do not ignore entries starting with .')])
"""

from __future__ import annotations

import re

from aipath.rag.block_writer import BULLETS, BlockWriter, page_name
from aipath.rag.document import Block, NoOwnText, collapse_whitespace
from aipath.rag.mdoc import mdoc_blocks
from aipath.rag.roff import Request, RoffReader, Text

NAME_SECTIONS = {"NAME", "名称", "名字", "NOM", "NOMBRE", "名前", "NAMN", "НАЗВАНИЕ"}
_BREAKS = {"PP", "LP", "P", "HP", "sp", "RS", "RE", "Sp", "TQ"}
_CODE_ON, _CODE_OFF = {"nf", "EX", "Vb"}, {"fi", "EE", "Ve"}
_FONTS = {"B", "I", "SM", "SB", "R"}
_ALTERNATING = {"BR", "BI", "IB", "IR", "RB", "RI"}
_SIZE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)[icpPmnvuMsf]?$")


def man_blocks(source: str) -> tuple[list[Block], str]:
    """A man page's blocks and its title (the NAME line); ``NoOwnText`` for a link page."""
    lines = RoffReader().read(source)
    requests = {line.name: line for line in lines if isinstance(line, Request)}
    if "so" in requests and not any(isinstance(line, Text) and line.text.strip() for line in lines):
        target = " ".join(requests["so"].args)
        raise NoOwnText(f"the page only points to another one ({target}); add that page")
    if {"Sh", "Dd"} & requests.keys():
        return _titled(*mdoc_blocks(lines))
    return _titled(*_man(lines))


def _man(lines: list[Request | Text]) -> tuple[list[Block], tuple[str, str]]:
    out = BlockWriter()
    page, link = ("", ""), ""
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if isinstance(line, Text):
            out.text(line.text)
            continue
        name, args = line.name, line.args
        if name == "TH":
            page = page_name(args)
        elif name in ("SH", "SS"):
            level = 2 if name == "SH" else 3
            if args:
                out.heading(" ".join(args), level)
            else:
                out.flush()
                out.pending_heading = level
        elif name in _BREAKS:
            out.flush()
        elif name == "TP":
            out.flush()
            i = _tag(lines, i, out)
        elif name == "IP":
            out.flush()
            if args and not BULLETS.match(args[0].strip()):
                out.paragraph(args[0])
        elif name in _CODE_ON:
            out.start_code()
        elif name in _CODE_OFF:
            out.end_code()
        elif (text := _inline(line)) is not None:
            out.text(text)
        elif name in ("SY", "OP"):
            out.text(args[0] if name == "SY" and args else "[" + " ".join(args) + "]")
        elif name in ("UR", "MT"):
            link = args[0] if args else ""
        elif name in ("UE", "ME"):  # nroff prints the address after the link's text
            out.text(f"⟨{link}⟩" * bool(link) + (args[0] if args else ""))
        elif name == "TS":
            i = _table(lines, i, out)
    out.flush()
    return out.blocks, page


def _tag(lines: list[Request | Text], i: int, out: BlockWriter) -> int:
    """The line after ``.TP`` (text or a font macro) is the item's tag."""
    while i < len(lines):
        line = lines[i]
        if isinstance(line, Text):
            out.paragraph(line.text)
            return i + 1
        if (text := _inline(line)) is not None:
            out.paragraph(text)
            return i + 1
        if line.name not in ("PD", "TQ", "in", "ti", "ft"):
            return i
        i += 1
    return i


def _inline(request: Request) -> str | None:
    """The words a font macro (``.B``, ``.BR``…) or a macro of the page's own prints."""
    if request.name in _FONTS and request.args:
        return " ".join(request.args)
    if request.defined and request.name != "IX":  # pod2man's IX makes index entries
        # a macro of layout (docutils' .INDENT 3.5) takes sizes, not words
        if any(not _SIZE.match(arg) for arg in request.args):
            return " ".join(request.args)
    if request.name in _ALTERNATING:
        return "".join(request.args)
    return None


def _table(lines: list[Request | Text], i: int, out: BlockWriter) -> int:
    """A tbl table (``.TS`` … ``.TE``): options and format lines skipped, one block a row."""
    out.flush()
    tab, in_format = "\t", True
    rows: list[str] = []
    cell: list[str] | None = None  # the lines of a T{ … T} cell
    while i < len(lines) and not (isinstance(lines[i], Request) and lines[i].name == "TE"):
        line = lines[i]
        i += 1
        if isinstance(line, Request) and (text := _inline(line)) is None:
            in_format = in_format or line.name == "T&"  # new format lines follow
            continue
        text = line.text if isinstance(line, Text) else text
        if in_format:
            if text.rstrip().endswith(";") and (m := re.search(r"tab\s*\((.)\)", text)):
                tab = m.group(1)
            in_format = not text.rstrip().endswith(".")
        elif cell is not None and not text.startswith("T}"):
            cell.append(text)
        else:
            if cell is not None:  # T} ends the cell; the row goes on after it
                rows[-1] += " ".join(cell) + text[2:]
            else:
                rows.append(text)
            cell = [] if rows[-1].endswith("T{") else None
            rows[-1] = rows[-1].removesuffix("T{")
    for row in rows:
        cells = [collapse_whitespace(c) for c in row.split(tab)]
        if text := " | ".join(c for c in cells if c and c not in ("_", "=")):
            out.blocks.append(Block(text, kind="table"))
    return i + 1


def _titled(blocks: list[Block], page: tuple[str, str]) -> tuple[list[Block], str]:
    """Put the level-1 heading ``name(section)`` first; the title is the NAME line."""
    title = ""
    for k, block in enumerate(blocks[:-1]):
        if block.kind == "heading" and block.text.upper() in NAME_SECTIONS:
            title = blocks[k + 1].text if blocks[k + 1].kind != "heading" else ""
            break
    name, section = page
    if name:
        spelled = re.split(r"[\s,]", title, maxsplit=1)[0] if title else ""
        name = spelled if spelled.lower() == name.lower() else name
        blocks.insert(0, Block(f"{name}({section})" if section else name, kind="heading", level=1))
    return blocks, title
