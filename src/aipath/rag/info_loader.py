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

from aipath.rag.document import Block, NoOwnText, collapse_whitespace

FILL_COLUMN = 72  # makeinfo fills paragraphs to this width
UNDERLINES = {"*": 1, "=": 2, "-": 3, ".": 4}
_MENU_ENTRY = re.compile(r"^\* .*:")
_LISTING_RULE = re.compile(r"^ (?:--|—) .* (?:--|—)$")  # "-- The Detailed Node Listing --"
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
            raise NoOwnText("this file only lists the parts the manual is split into "
                            "(NAME.info-1, NAME.info-2, …); add those")
        raise InfoError("no Info node found (a node starts with a 'File: …, Node: …' line)")
    blocks: list[Block] = []
    for node in nodes:
        blocks += _node_blocks(node.split("\n")[1:])
    title = next((b.text for b in blocks if b.kind == "heading"), "")
    return blocks, title


def _node_blocks(lines: list[str]) -> list[Block]:
    lines = _without_menus(lines)
    blocks: list[Block] = []
    for group in _groups(lines):
        if len(group) == 2 and _underline(group[0], group[1]):  # _groups sets titles apart
            blocks.append(Block(collapse_whitespace(group[0]), kind="heading",
                                level=UNDERLINES[group[1].strip()[0]]))
        else:
            blocks += _text_blocks(group)
    return blocks


def _without_menus(lines: list[str]) -> list[str]:
    """Drop each menu: from its ``* Menu:`` line, its entries (``* Node::  what it holds``,
    an index's ``* term:  Node.  (line 12)``), their continuations (indented, right below),
    and a detailed node listing's rule and group titles, up to the first text."""
    kept: list[str] = []
    in_menu = False
    for k, line in enumerate(lines):
        if line.startswith("* Menu:"):
            in_menu = True
        elif in_menu and line.strip():
            in_menu = not _ends_menu(lines, k)
        if not in_menu:
            kept.append(line)
    return kept


def _ends_menu(lines: list[str], k: int) -> bool:
    line = lines[k]
    if _MENU_ENTRY.match(line) or _LISTING_RULE.match(line):
        return False
    if line[0].isspace() and lines[k - 1].strip():
        return False  # an entry's description, continued
    following = next((after for after in lines[k + 1:] if after.strip()), "")
    return not _MENU_ENTRY.match(following)  # else a listing's group title


def _groups(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines; a title with its underline is a group of its own."""
    groups: list[list[str]] = [[]]
    for k, line in enumerate(lines):
        if not line.strip() or line.strip() == "---------- Footnotes ----------":
            groups.append([])
        elif k + 1 < len(lines) and _underline(line, lines[k + 1]):
            groups += [[line, lines[k + 1]], []]
        elif groups[-1] == [] and k > 0 and _underline(lines[k - 1], line):
            continue  # the underline, taken with its title
        else:
            groups[-1].append(line)
    return [g for g in groups if g]


def _underline(title: str, line: str) -> bool:
    mark = line.strip()[:1]
    return (mark in UNDERLINES and bool(title.strip()) and not title.startswith(" ")
            and line.strip() == mark * len(line.strip()) and len(line.strip()) >= 3
            and len(title.strip()) <= len(line.strip()) <= 2 * len(title.strip()))


def _text_blocks(group: list[str]) -> list[Block]:
    """A run of lines: each item of a bullet list is a paragraph, its marker dropped; a
    table's terms (short lines, the lines after them indented deeper) are a paragraph of
    their own; the rest is a paragraph if makeinfo filled it, else code."""
    if _BULLET.match(group[0].strip()):
        starts = [k for k, line in enumerate(group)
                  if _indent(line) == _indent(group[0]) and _BULLET.match(line.strip())]
        items = [group[a:b] for a, b in zip(starts, starts[1:] + [len(group)])]
        return [block for item in items for block in
                _body([_BULLET.sub("", item[0].lstrip(), count=1)] + item[1:])]
    deeper = next((k for k, line in enumerate(group) if _indent(line) > _indent(group[0])), 0)
    if deeper and all(len(line.strip()) < 40 for line in group[:deeper]):
        return [Block(_prose(" ".join(group[:deeper])))] + _body(group[deeper:])
    return _body(group)


def _body(group: list[str]) -> list[Block]:
    if _filled(group):
        return [Block(_prose(" ".join(group)))]
    depth = min(_indent(line) for line in group)
    return [Block(_notes("\n".join(line[depth:].rstrip() for line in group)), kind="code")]


def _filled(group: list[str]) -> bool:
    """Did makeinfo fill these lines? Each but the last then ends where the next line's first
    word would not have fitted; one line is prose if it ends a sentence (and is no prompt)."""
    if len(group) == 1:
        line = group[0].strip()
        return line[-1:] in ".:;,?!)" and len(line.split()) >= 2 and line[0] not in "$#>%"
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
