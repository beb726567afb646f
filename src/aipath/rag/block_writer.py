"""The text of a man page, as a macro package (man(7), mdoc(7)) hands it over, collected into
blocks: filled text into paragraphs, no-fill text into code, titles into headings."""

from __future__ import annotations

import re

from aipath.rag.document import Block, collapse_whitespace
from aipath.rag.roff import GLUE

# A list item's mark that carries no words: a bullet, a dash, "1." or "(a)".
BULLETS = re.compile(r"^(?:[•*\-+o·]|\(?\w{1,3}[.)]|)$")


def page_name(args: list[str]) -> tuple[str, str]:
    """(name, section) from the arguments of man's ``.TH`` or mdoc's ``.Dt``."""
    return (args[0] if args else "", args[1] if len(args) > 1 else "")


class BlockWriter:
    """Collects text into paragraphs, code blocks and headings, for either macro package."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.pieces: list[str] = []
        self.code: list[str] | None = None
        self.pending_heading = 0  # .SH with its title on the next line

    def text(self, text: str) -> None:
        if self.code is not None:
            self._append(self.code, text.rstrip())
        elif self.pending_heading:
            level, self.pending_heading = self.pending_heading, 0
            self.heading(text, level)
        elif not text.strip():
            self.flush()
        else:
            self._append(self.pieces, text)

    def heading(self, text: str, level: int) -> None:
        self.flush()
        if text := collapse_whitespace(text.replace(GLUE, "")):
            self.blocks.append(Block(text, kind="heading", level=level))

    def paragraph(self, text: str) -> None:
        """A paragraph of its own, such as a list item's tag."""
        self.flush()
        self.text(text)
        self.flush()

    def start_code(self) -> None:
        self.flush()
        self.code = []

    def flush(self) -> None:
        if self.pieces:
            if text := collapse_whitespace(" ".join(self.pieces).replace(GLUE, "")):
                self.blocks.append(Block(text))
            self.pieces = []
        if self.code is not None:
            if text := "\n".join(self.code).replace(GLUE, "").strip("\n"):
                self.blocks.append(Block(text, kind="code"))
            self.code = []

    def end_code(self) -> None:
        self.flush()
        self.code = None

    @staticmethod
    def _append(pieces: list[str], text: str) -> None:
        if pieces and pieces[-1].endswith(GLUE):
            pieces[-1] = pieces[-1][:-1] + text
        else:
            pieces.append(text)
