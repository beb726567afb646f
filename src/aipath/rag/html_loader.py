"""HTML → blocks, keeping the structure documentation sites actually use.

The walker descends containers (div, section, li, dd, blockquote, tables) and emits the
innermost units: headings, paragraphs, code blocks (line breaks kept), table rows
(cells joined by " | "). Loose text inside a container becomes its own paragraph, so a
long API entry never collapses into one block with its code glued to its prose.

A row of one cell, or whose cells hold a table or a heading, is page layout, not data
(libxml's and many older sites' pages are a table of a menu column and a text column, each
a box of nested one-cell tables): its cells are walked like any container, so the menu and
each paragraph of the text stay blocks of their own. A box of such a table that is mostly
links (the menu's lists) is navigation, and dropped like ``<nav>``.

Sphinx API entries (``<dl class="py method"><dt>signature</dt><dd>…</dd>``) turn their
signature into a heading one level below the enclosing entry, so a method's text carries
"module > class > method(…)" as its heading path. Navigation (``nav``, DocBook's
``div.toc``/``navheader``/``navfooter``, Texinfo's node panels, menus, contents and
indexes), scripts and permalink anchors are dropped; where
the main content holds exactly one ``<article>``, only the article is read.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import PreformattedString, Tag

from aipath.rag.document import Block, NoOwnText, collapse_whitespace

HEADINGS = {f"h{i}": i for i in range(1, 7)}
CONTAINERS = {"div", "section", "article", "main", "body", "li", "dd", "dl", "ul", "ol",
              "blockquote", "table", "thead", "tbody", "tfoot", "figure", "details", "aside"}
PARAGRAPHS = {"p", "figcaption", "caption", "summary", "dt"}
# What a browser lays out as a block of its own: text on either side of it is never one word.
BLOCK_LEVEL = CONTAINERS | PARAGRAPHS | set(HEADINGS) | {"pre", "tr", "td", "th", "hr"}
LAYOUT_MARKS = ["table", *HEADINGS]  # in a cell, these make its row page layout
MENU_LINK_SHARE = 0.9  # a box this much link text is a menu; prose with links has its own words
NOISE_TAGS = ["script", "style", "nav", "header", "footer", "noscript", "form", "button"]
TOCTREE = "div.toctree-wrapper"  # Sphinx's tables of contents: other pages' titles
NOISE_SELECTORS = ["a.headerlink", "a.copiable-anchor", "a.copiable-link", "div.toc", TOCTREE,
                   "div.navheader", "div.navfooter", "div.sphinxsidebar", "div.related",
                   "div.footer"]
# GNU manuals (makeinfo / texi2any): every node opens with a "Next: …, Up: …" panel naming
# its neighbours, sections list their children, and the contents and indexes repeat every
# title. Kept, they put other sections' words into each chunk. Their class names ("header",
# "contents") are too common elsewhere (Doxygen's main text is div.contents) to drop on
# every page, so they apply only to pages the generator meta tag marks as Texinfo's.
TEXINFO_GENERATORS = ("makeinfo", "texi2any", "texi2html")
TEXINFO_NOISE = ["div.header", "div.nav-panel", "div.contents", "div.shortcontents",
                 "div.element-contents", "div.element-shortcontents", "h2.contents-heading",
                 "h2.shortcontents-heading", "ul.section-toc", "ul.mini-toc", "table.menu",
                 "table[class^=index-]", "table:has(a.summary-letter)", "div.printindex"]
# Sphinx's general and module indexes (genindex-A.html … genindex-all.html, py-modindex.html):
# every entry is a link to a passage that is indexed where it stands.
INDEX_TABLES = "table.indextable, table.modindextable"
API_ENTRY_LEVEL = 6  # signature headings nest below h1–h6


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.inline: list[str] = []

    def flush(self) -> None:
        text = collapse_whitespace("".join(self.inline))
        self.inline.clear()
        if text:
            self.blocks.append(Block(text))

    def walk(self, element, api_depth: int = 0) -> None:
        for child in element.children:
            name = getattr(child, "name", None)
            if isinstance(child, PreformattedString):  # comments, doctypes, CDATA: not text
                continue
            if name is None:
                self.inline.append(str(child))
            elif name in HEADINGS:
                self._emit(child.get_text(), "heading", HEADINGS[name])
            elif name == "pre":
                self.flush()
                code = child.get_text().strip("\n")
                if code.strip():
                    self.blocks.append(Block(code, kind="code"))
            elif name == "tr":
                self._row(child, api_depth)
            elif name == "dt" and _is_api_entry(child.parent):
                self._emit(child.get_text(), "heading", API_ENTRY_LEVEL + api_depth)
            elif name in PARAGRAPHS and not child.find(["pre", "table", "ul", "ol", "dl", "div"]):
                self._emit(child.get_text(), "paragraph")
            elif name in CONTAINERS or name in PARAGRAPHS or child.find(BLOCK_LEVEL):
                self.flush()
                self.walk(child, api_depth + (name == "dl" and _is_api_entry(child)))
                self.flush()
            else:  # inline markup: a, span, code, em …
                self.inline.append(child.get_text())

    def _row(self, row: Tag, api_depth: int) -> None:
        cells = row.find_all(["td", "th"], recursive=False)
        if len(cells) == 1 or any(cell.find(LAYOUT_MARKS) for cell in cells):
            for cell in cells:
                self.flush()
                if not _is_menu(cell):
                    self.walk(cell, api_depth)
            self.flush()
            return
        texts = [collapse_whitespace(block_text(cell)) for cell in cells]
        self._emit(" | ".join(t for t in texts if t), "table")

    def _emit(self, text: str, kind: str, level: int = 0) -> None:
        self.flush()
        text = collapse_whitespace(text)
        if text:
            self.blocks.append(Block(text, kind=kind, level=level))


def block_text(element: Tag) -> str:
    """The element's text with a space where a block of it ends, as a browser shows it.

    >>> block_text(BeautifulSoup("<td><p>two</p><p>words</p></td>", "html.parser").td)
    ' two  words '
    """
    parts = []
    for child in element.children:
        if isinstance(child, PreformattedString):
            continue
        if not isinstance(child, Tag):
            parts.append(str(child))
        elif child.name in BLOCK_LEVEL:
            parts.append(f" {block_text(child)} ")
        else:
            parts.append(block_text(child))
    return "".join(parts)


def _is_menu(cell: Tag) -> bool:
    """Three or more links that make up most of the words of a cell without tables of its
    own (a cell holding tables is a box of boxes, and is judged box by box)."""
    if cell.find("table"):
        return False
    links = cell.find_all("a")
    linked = sum(len("".join(a.get_text().split())) for a in links)
    return len(links) >= 3 and linked >= MENU_LINK_SHARE * len("".join(cell.get_text().split()))


def _is_api_entry(dl) -> bool:
    return dl is not None and dl.name == "dl" and "py" in (dl.get("class") or [])


def _is_texinfo(soup: BeautifulSoup) -> bool:
    generator = soup.find("meta", attrs={"name": lambda name: name and name.lower() == "generator"})
    content = (generator.get("content") or "").lower() if generator else ""
    return content.startswith(TEXINFO_GENERATORS)


def html_blocks(html: str) -> tuple[list[Block], str]:
    """Blocks of the page's main content, and the page title."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(NOISE_TAGS):
        tag.decompose()
    for br in soup("br"):  # a line break is a space in running text and a newline in code
        br.replace_with("\n")
    # One selector list, so the tree is walked once rather than once a selector (Node.js's
    # 8 MB all.html: 10.0 -> 8.0 s); a tag inside another match goes with it.
    contents = soup.select_one(TOCTREE) is not None
    for tag in soup.select(", ".join(NOISE_SELECTORS + (TEXINFO_NOISE if _is_texinfo(soup) else []))):
        tag.decompose()
    if soup.select_one(INDEX_TABLES):
        raise NoOwnText("the page only indexes the others (a generated index); add those pages")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    root = (soup.find("main") or soup.find(attrs={"role": "main"})
            or soup.select_one("div.body") or soup.body or soup)
    # Docusaurus, MkDocs Material and GitHub put the page in one <article> and keep the
    # table of contents and pagination beside it, inside <main>.
    articles = root.find_all("article")
    if len(articles) == 1:
        root = articles[0]
    walker = _Walker()
    walker.walk(root)
    walker.flush()
    if contents and all(b.kind == "heading" for b in walker.blocks):
        raise NoOwnText("the page only lists others (a table of contents); add those pages")
    return walker.blocks, title
