"""HTML → blocks, keeping the structure documentation sites actually use.

The walker descends containers (div, section, li, dd, blockquote, tables) and emits the
innermost units: headings, paragraphs, code blocks (line breaks kept), table rows
(cells joined by " | "). Loose text inside a container becomes its own paragraph, so a
long API entry never collapses into one block with its code glued to its prose.

Sphinx API entries (``<dl class="py method"><dt>signature</dt><dd>…</dd>``) turn their
signature into a heading one level below the enclosing entry, so a method's text carries
"module > class > method(…)" as its heading path. Navigation (``nav``, DocBook's
``div.toc``/``navheader``/``navfooter``, Texinfo's node panels, menus, contents and
indexes), scripts and permalink anchors are dropped; where
the main content holds exactly one ``<article>``, only the article is read.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from bs4.element import PreformattedString

from aipath.rag.document import Block, collapse_whitespace

HEADINGS = {f"h{i}": i for i in range(1, 7)}
CONTAINERS = {"div", "section", "article", "main", "body", "li", "dd", "dl", "ul", "ol",
              "blockquote", "table", "thead", "tbody", "tfoot", "figure", "details", "aside"}
PARAGRAPHS = {"p", "figcaption", "caption", "summary", "dt"}
NOISE_TAGS = ["script", "style", "nav", "header", "footer", "noscript", "form", "button"]
NOISE_SELECTORS = ["a.headerlink", "a.copiable-anchor", "a.copiable-link", "div.toc",
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
                cells = [collapse_whitespace(c.get_text()) for c in child.find_all(["td", "th"])]
                self._emit(" | ".join(c for c in cells if c), "table")
            elif name == "dt" and _is_api_entry(child.parent):
                self._emit(child.get_text(), "heading", API_ENTRY_LEVEL + api_depth)
            elif name in PARAGRAPHS and not child.find(["pre", "table", "ul", "ol", "dl", "div"]):
                self._emit(child.get_text(), "paragraph")
            elif name in CONTAINERS or name in PARAGRAPHS or child.find(["p", "pre", "div"]):
                self.flush()
                self.walk(child, api_depth + (name == "dl" and _is_api_entry(child)))
                self.flush()
            else:  # inline markup: a, span, code, em …
                self.inline.append(child.get_text())

    def _emit(self, text: str, kind: str, level: int = 0) -> None:
        self.flush()
        text = collapse_whitespace(text)
        if text:
            self.blocks.append(Block(text, kind=kind, level=level))


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
    # One selector list, so the tree is walked once rather than once a selector (Node.js's
    # 8 MB all.html: 10.0 -> 8.0 s); a tag inside another match goes with it.
    for tag in soup.select(", ".join(NOISE_SELECTORS + (TEXINFO_NOISE if _is_texinfo(soup) else []))):
        tag.decompose()
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
    return walker.blocks, title
