"""GNU Info manuals: exact blocks on a manual written here, and, as the oracle, the HTML
edition of the same Texinfo source (Bash's reference manual) read by the HTML loader."""

from __future__ import annotations

import collections
import gzip
import random
import re
from pathlib import Path

import pytest

from aipath.rag.loaders import LoaderError, Skipped, load_bytes, load_file

# Laid out as makeinfo lays it out: a preamble, nodes with header lines, a menu before the
# text and one after it, a table of options, an example, an index node and the tag table.
INFO = """This is frob.info, produced by makeinfo version 6.8 from frob.texi.

INFO-DIR-SECTION Utilities
START-INFO-DIR-ENTRY
* frob: (frob).         Frobnicate files.
END-INFO-DIR-ENTRY

\x1f
File: frob.info,  Node: Top,  Next: Invoking,  Up: (dir)

Frob
****

* Menu:

* Invoking::            How to run frob.
* Index::               Every term.

 -- The Detailed Node Listing --

Invoking frob

* Options::             The options, one by one.

This manual is for frob 1.0, which frobnicates the files named on its
command line in place; it never keeps a copy (*note Options::).

\x1f
File: frob.info,  Node: Invoking,  Next: Index,  Prev: Top,  Up: Top

1 Invoking frob
***************

* Menu:

* Options::             The options, one by one.

   Run it as 'frob [OPTION]... FILE...'.  Each FILE is rewritten where
it lies, so keep a backup of anything you care about (*note Backups:
Invoking.).

1.1 Options
===========

'-n'
'--dry-run'
     Show what would change, and change nothing.  Use it first on any
     file you have not frobnicated before, to see the result.

   For example:

     $ frob -n notes.txt
     notes.txt: 12 lines would change

   * Level 9 is the slowest.
   * Levels above 7 print a warning.

\x1f
File: frob.info,  Node: Index,  Prev: Invoking,  Up: Top

Index
*****

\x00\x08[index\x00\x08]
* Menu:

* dry run:                               Options.              (line  6)
* options:                               Options.              (line  1)

\x1f
Tag Table:
Node: Top97
Node: Invoking542
\x1f
End Tag Table
"""

BLOCKS = [
    ("heading", 1, "Frob"),
    ("paragraph", 0, "This manual is for frob 1.0, which frobnicates the files named on its "
                     "command line in place; it never keeps a copy (see Options)."),
    ("heading", 1, "1 Invoking frob"),
    ("paragraph", 0, "Run it as 'frob [OPTION]... FILE...'. Each FILE is rewritten where it lies, "
                     "so keep a backup of anything you care about (see Backups)."),
    ("heading", 2, "1.1 Options"),
    ("paragraph", 0, "'-n' '--dry-run'"),
    ("paragraph", 0, "Show what would change, and change nothing. Use it first on any file you "
                     "have not frobnicated before, to see the result."),
    ("paragraph", 0, "For example:"),
    ("code", 0, "$ frob -n notes.txt\nnotes.txt: 12 lines would change"),
    ("paragraph", 0, "Level 9 is the slowest."),
    ("paragraph", 0, "Levels above 7 print a warning."),
    ("heading", 1, "Index"),
]


def test_info_manual_blocks() -> None:
    doc = load_bytes(gzip.compress(INFO.encode()), "frob.info.gz")
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == BLOCKS
    assert doc.title == "Frob"
    example = next(b for b in doc.blocks if b.kind == "code")
    assert example.heading_path == ("1 Invoking frob", "1.1 Options")


def test_the_main_file_of_a_split_manual_says_to_add_its_parts() -> None:
    main = "This is find.info.\n\n\x1f\nIndirect:\nfind.info-1: 1573\nfind.info-2: 301683\n" \
           "\x1f\nTag Table:\n(Indirect)\nNode: Top1573\n\x1f\nEnd Tag Table\n"
    with pytest.raises(Skipped, match=r"find.info: this file only lists the parts .* add those"):
        load_bytes(main.encode(), "find.info")


def test_text_without_nodes_is_refused() -> None:
    with pytest.raises(LoaderError, match="no Info node found"):
        load_bytes(b"just text\n", "notes.info")


BASH_INFO = Path("/usr/share/info/bash.info.gz")
BASH_HTML = Path("/usr/share/doc/bash/bashref.html")  # Debian's bash-doc


@pytest.mark.skipif(not (BASH_INFO.exists() and BASH_HTML.exists()),
                    reason="needs bash's Info manual and its HTML edition (bash-doc)")
def test_an_info_manual_reads_as_its_html_edition() -> None:
    """Both come from one Texinfo source. The words differ only where makeinfo writes a
    node's name for a cross reference and the HTML its section's title."""
    info = load_file(BASH_INFO)
    html = load_file(BASH_HTML)
    words = lambda t: collections.Counter(w.lower() for w in re.findall(r"\w+", t))  # noqa: E731
    ours, theirs = words(info.text), words(html.text)
    common = sum((ours & theirs).values())
    assert common / sum(theirs.values()) > 0.99 and common / sum(ours.values()) > 0.99
    headings = lambda d: [b.text for b in d.blocks if b.kind == "heading"]  # noqa: E731
    assert "4.3.1 The Set Builtin" in headings(info)
    assert not any("* Menu:" in b.text or "(line" in b.text for b in info.blocks)


def test_damaged_manuals_load_or_fail_with_a_loader_error() -> None:
    rng = random.Random(5)
    pieces = ["\x1f", "\x1f\nFile: x,  Node: y\n", "* Menu:\n", "\n\n", "=====\n", "****\n",
              "*note ", "::", "\x00\x08[index\x00\x08]", "   * ", "\n     "]
    for _ in range(300):
        text = list(INFO)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.6:
                text[at:at] = [rng.choice(pieces)]
            else:
                del text[at:at + rng.randint(1, 80)]
        try:
            load_bytes("".join(text).encode(), "frob.info")
        except LoaderError:
            pass
