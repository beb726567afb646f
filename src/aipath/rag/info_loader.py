"""GNU Info manuals (``/usr/share/info/coreutils.info.gz``) → blocks.

An Info file is plain text that ``makeinfo`` wrote from Texinfo: nodes separated by
``\\x1f``, each opening with a header line (``File: bash.info,  Node: Pipelines,  Next: …``),
titles underlined with ``*``, ``=``, ``-`` or ``.`` (chapter to subsubsection), paragraphs
filled to 72 columns, and at a node's end a menu of its children. What a reader needs is
kept: headings, paragraphs (wraps joined), examples as code, a table's term (``'-e'``) as a
paragraph of its own as an HTML ``<dt>`` is. Navigation is dropped: headers, menus, the
index nodes' entries and the tag table; a cross reference ``*note Pipelines::`` reads "see
Pipelines".

>>> blocks, title = info_blocks("preamble\\n\\x1f\\nFile: x.info,  Node: Top,  Next: Use\\n\\n"
...     "X Manual\\n********\\n\\nThis manual documents version 1.0 of X, a small tool for "
...     "searching the\\noptions (*note Invoking::).\\n\\n* Menu:\\n\\n* Use::  How to use it.\\n")
>>> title, [(b.kind, b.level, b.text) for b in blocks]
('X Manual', [('heading', 1, 'X Manual'), ('paragraph', 0, 'This manual documents version \
1.0 of X, a small tool for searching the options (see Invoking).')])
"""

from __future__ import annotations

import re

from aipath.rag.document import Block, collapse_whitespace

FILL_COLUMN = 72  # makeinfo fills paragraphs to this width
UNDERLINES = {"*": 1, "=": 2, "-": 3, ".": 4}
_BULLET = re.compile(r"^(?:[*•-]|\d{1,2}\.)\s+")
_NOTE = re.compile(r"\*[Nn]ote\s+([^:]+?)::|\*[Nn]ote\s+([^:]+?):\s*(?:\([^)]*\))?[^.,]*[.,]")


class InfoError(ValueError):
    """The file holds no node of its own; the message says why."""


def info_blocks(text: str) -> tuple[list[Block], str]:
    """The manual's blocks and its title (the first heading)."""
    parts = text.split("\x1f")[1:]  # before the first separator: makeinfo's preamble
    nodes = [p.lstrip("\n") for p in parts]
    nodes = [n for n in nodes if n.startswith("File:")]
    if not nodes:
        if any(p.lstrip("\n").startswith("Indirect:") for p in parts):
            raise InfoError("this file only lists the parts the manual is split into "
                            "(NAME.info-1, NAME.info-2, …); add those")
        raise InfoError("no Info node found (a node starts with a 'File: …, Node: …' line)")
    blocks: list[Block] = []
    for node in nodes:
        blocks += _node_blocks(node.split("\n")[1:])
    title = next((b.text for b in blocks if b.kind == "heading"), "")
    return blocks, title


def _node_blocks(lines: list[str]) -> list[Block]:
    if menu := next((k for k, line in enumerate(lines) if line.startswith("* Menu:")), None):
        lines = lines[:menu]
    blocks: list[Block] = []
    for group in _groups(lines):
        if len(group) >= 2 and _underline(group[0], group[1]):
            blocks.append(Block(collapse_whitespace(group[0]), kind="heading",
                                level=UNDERLINES[group[1].strip()[0]]))
            group = group[2:]
        blocks += _text_blocks(group)
    return blocks


def _groups(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines; a title and its underline open a group of their own."""
    groups: list[list[str]] = [[]]
    for k, line in enumerate(lines):
        if not line.strip() or line.strip() == "---------- Footnotes ----------":
            groups.append([])
        elif k + 1 < len(lines) and _underline(line, lines[k + 1]):
            groups.append([line])
        else:
            groups[-1].append(line)
    return [g for g in groups if g]


def _underline(title: str, line: str) -> bool:
    mark = line.strip()[:1]
    return (mark in UNDERLINES and bool(title.strip()) and not title.startswith(" ")
            and line.strip() == mark * len(line.strip()) and len(line.strip()) >= 3
            and len(title.strip()) <= len(line.strip()) <= 2 * len(title.strip()))


def _text_blocks(group: list[str]) -> list[Block]:
    """A run of lines: a table term (a short line, the lines after it indented deeper) is a
    paragraph of its own; the rest is a paragraph if makeinfo filled it, else code."""
    if not group:
        return []
    blocks = []
    first = group[0].strip()
    if _BULLET.match(first):  # an item of a list: its marker carries no words
        group = [_BULLET.sub("", group[0].lstrip(), count=1)] + group[1:]
    elif len(group) >= 2 and _indent(group[1]) > _indent(group[0]) and len(first) < 40:
        blocks.append(Block(_prose(group[0])))
        group = group[1:]
    if _filled(group):
        blocks.append(Block(_prose(" ".join(group))))
    else:
        depth = min(_indent(line) for line in group)
        blocks.append(Block(_notes("\n".join(line[depth:].rstrip() for line in group)), kind="code"))
    return blocks


def _filled(group: list[str]) -> bool:
    """Did makeinfo fill these lines? Each but the last then ends where the next line's first
    word would not have fitted; one line is prose if it ends a sentence."""
    if len(group) == 1:
        line = group[0].strip()
        return line[-1:] in ".:;,?!)" and len(line.split()) >= 3
    if any(len(line.rstrip()) > FILL_COLUMN and len(line.split()) > 1 for line in group):
        return False  # an example's long line: filling never makes one
    for line, after in zip(group, group[1:]):
        if len(line.rstrip()) + 1 + len(after.split()[0]) <= FILL_COLUMN:
            return False
    return True


def _prose(text: str) -> str:
    return collapse_whitespace(_notes(text))


def _notes(text: str) -> str:
    """``*note Label: Node.`` and ``*note Node::`` → ``see Label`` / ``see Node``."""
    return _NOTE.sub(lambda m: "see " + collapse_whitespace(m.group(1) or m.group(2)), text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
