"""File loaders: .txt/.rst, .md, .html/.htm, .pdf (with page numbers), .docx (with headings),
.epub, man pages (``ls.1``), GNU Info manuals (``bash.info``), and any of them
gzip-compressed (``FAQ.txt.gz``, ``ls.1.gz``: Debian compresses its documentation).

``load_bytes`` and ``load_file`` return a ``Document`` or raise ``LoaderError`` with a
message a person can act on (bytes → text is ``aipath.rag.decoding``); nothing half-parsed
ever reaches the knowledge base.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path, PurePath
from typing import NamedTuple

from aipath.rag.decoding import DecodeError, declared_charset, decode_text, gunzip
from aipath.rag.document import Block, Document, NoOwnText, collapse_whitespace, with_heading_paths
from aipath.rag.epub_loader import EpubError, epub_documents
from aipath.rag.html_loader import html_blocks
from aipath.rag.info_loader import InfoError, info_blocks
from aipath.rag.man_loader import man_blocks
from aipath.rag.notebook_loader import NotebookError, notebook_cells
from aipath.rag.pdf_loader import pdf_blocks
from aipath.rag.rst_loader import rst_blocks


class LoaderError(ValueError):
    """The file cannot be turned into text; the message says why and what to do."""


class Skipped(LoaderError):
    """The file is well formed but has no text of its own (``NoOwnText``): a folder of man
    pages or Info manuals holds such files, and adding the folder is no error."""


SUPPORTED_SUFFIXES = (".txt", ".rst", ".md", ".markdown", ".html", ".htm", ".xhtml", ".ipynb", ".pdf",
                      ".docx", ".epub")
SUPPORTED = (", ".join(SUPPORTED_SUFFIXES) + ", man pages (.1 to .9), Info manuals (.info), "
             "plain-text README, NEWS, changelog, copyright… files, "
             "each also gzip-compressed (.txt.gz, .1.gz)")
_MAN_SECTION = re.compile(r"^\.[1-9][a-z]{0,8}$")  # ls.1, printf.3, Dpkg::Arch.3perl, ssl.7ssl
_INFO = re.compile(r"^\.info(?:-\d+)?$")  # bash.info, and a split manual's find.info-1
# The plain-text files every package's /usr/share/doc holds, named by what they are rather
# than by a suffix: README, README.Debian, NEWS.gz, changelog.Debian.gz, copyright, TODO.
_TEXT_NAME = re.compile(r"^(?:readme|news|changes|changelog|install|faq|todo|authors|thanks|bugs|"
                        r"hacking|contributing|copying|copyright|license|notice|history)"
                        r"(?:[._-][\w.-]*)?$", re.IGNORECASE)
SPHINX_BUILD = (".buildinfo", "searchindex.js")  # files only a Sphinx HTML build has
_INFO_MARKER = re.compile(rb"\x00\x08\[[^\x00]*\x00\x08\]")
_ROFF = re.compile(r"^[.'][ \t]*(?:TH|SH|Dd|Dt|Sh|so)\b", re.MULTILINE)
_TO_DOCX = ("; save it as .docx (Word, WPS, or `soffice --headless --convert-to docx FILE`) "
            "and add that")
CONVERT_HINTS = {".doc": _TO_DOCX, ".wps": _TO_DOCX, ".odt": _TO_DOCX, ".rtf": _TO_DOCX,
                 ".png": "; an image needs OCR first", ".jpg": "; an image needs OCR first"}
# PDFium is not thread-safe, even across documents, and the API parses uploads on worker threads.
_PDFIUM = threading.Lock()
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_DOCX_HEADING = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_DOCX_CODE = re.compile(r"code|preformatted|macro text|代码", re.IGNORECASE)
def load_txt(data: bytes, name: str) -> Document:
    """Plain text and reStructuredText alike: underlined titles become headings."""
    blocks = with_heading_paths(rst_blocks(decode_text(data, name)))
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    return Document(name, blocks, title=title)


@lru_cache(maxsize=1)
def _markdown():  # noqa: ANN202 - markdown_it.MarkdownIt
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def load_markdown(data: bytes, name: str) -> Document:
    """CommonMark with GitHub's tables, rendered to HTML and read like any HTML page: links,
    emphasis and code spans become the words a reader sees (not ``[text](url)`` or
    ``**``), fenced and indented code become code blocks, table rows stay rows. A YAML
    front matter's ``title`` is the document's title; the rest of it is not content.

    >>> doc = load_markdown(b"---\\ntitle: Guide\\n---\\n# Install\\nRun `pip install x`, see "
    ...                     b"[the *docs*](https://x.org).\\n\\n    code\\n", "g.md")
    >>> doc.title, [(b.kind, b.text) for b in doc.blocks]
    ('Guide', [('heading', 'Install'), ('paragraph', 'Run pip install x, see the docs.'), ('code', 'code')])
    """
    text = decode_text(data, name)
    title = ""
    if front := _FRONT_MATTER.match(text):
        text = text[front.end():]
        title = _front_matter_title(front.group(1))
    blocks, _ = html_blocks(_markdown().render(text))
    return Document(name, with_heading_paths(blocks), title=title)


def load_notebook(data: bytes, name: str) -> Document:
    """A Jupyter notebook's cells in order: Markdown cells read as Markdown (their headings are
    the document's), code cells and their text outputs as code (see ``notebook_loader``)."""
    try:
        cells = notebook_cells(data)
    except NotebookError as exc:
        raise LoaderError(f"{name}: {exc}") from exc
    blocks: list[Block] = []
    for kind, text in cells:
        if kind == "markdown":
            blocks += html_blocks(_markdown().render(text))[0]
        else:
            blocks.append(Block(text, kind="code"))
    if not blocks:
        raise LoaderError(f"{name}: the notebook has no text in its cells")
    return Document(name, with_heading_paths(blocks))


def _front_matter_title(yaml_text: str) -> str:
    """The ``title`` of a YAML front matter; a malformed one is ignored, not an error (the
    document itself is fine)."""
    import yaml

    try:
        meta = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return ""
    title = meta.get("title") if isinstance(meta, dict) else None
    return str(title).strip() if title else ""


def load_html(data: bytes, name: str) -> Document:
    """Headings, paragraphs, code, table rows and API entries (see ``html_loader``)."""
    blocks, title = _html_blocks(data, name)
    return Document(name, with_heading_paths(blocks), title=title)


def _html_blocks(data: bytes, name: str) -> tuple[list[Block], str]:
    """A page's blocks and title, decoded with the charset it declares."""
    return html_blocks(decode_text(data, name, declared_charset(data)))


def load_pdf(data: bytes, name: str) -> Document:
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise LoaderError(f"{name}: the PDF is encrypted; save an unencrypted copy "
                                  "first") from exc
            raise LoaderError(f"{name}: not a readable PDF ({exc})") from exc
        try:
            blocks = pdf_blocks(pdf)
        except pdfium.PdfiumError as exc:
            raise LoaderError(f"{name}: not a readable PDF ({exc})") from exc
        finally:
            pdf.close()
    return Document(name, with_heading_paths(blocks))


def load_man(data: bytes, name: str) -> Document:
    """A man page, man(7) or mdoc(7) (see ``man_loader``)."""
    text = decode_text(data, name)
    if not _ROFF.search(text):
        raise LoaderError(f"{name}: not a man page (no .TH or .Dd line); if it is plain text, "
                          "name it .txt")
    blocks, title = man_blocks(text)
    return Document(name, with_heading_paths(blocks), title=title)


def load_info(data: bytes, name: str) -> Document:
    """A GNU Info manual, or one part of a split one (see ``info_loader``)."""
    data = _INFO_MARKER.sub(b"", data)  # an index node's or image's marker, NUL-delimited
    try:
        blocks, title = info_blocks(decode_text(data, name))
    except InfoError as exc:
        raise LoaderError(f"{name}: {exc}") from exc
    return Document(name, with_heading_paths(blocks), title=title)


def load_epub(data: bytes, name: str) -> Document:
    """Chapters in reading order, each read as HTML (see ``epub_loader``)."""
    try:
        pages, title = epub_documents(data)
    except EpubError as exc:
        raise LoaderError(f"{name}: {exc}") from exc
    blocks = [block for page in pages for block in _html_blocks(page, name)[0]]
    return Document(name, with_heading_paths(blocks), title=title)


def load_docx(data: bytes, name: str) -> Document:
    """Paragraphs and tables in reading order. A paragraph is a heading when its style is
    "Heading N" (Word's English name, which localised Word keeps in the file) or "标题 N"
    (WPS), "Title", or when it declares an outline level; a paragraph in a code style is a
    code block; each table row is a block, its cells joined by " | " as in HTML tables."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoaderError(f"{name}: not a readable .docx file ({exc})") from exc
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(Block(row, kind="table") for row in _docx_rows(item))
        elif text := item.text.strip():
            style = (item.style.name if item.style is not None else "") or ""
            if level := _docx_heading_level(item, style):
                blocks.append(Block(collapse_whitespace(text), kind="heading", level=level))
            else:
                blocks.append(Block(text, kind="code" if _DOCX_CODE.search(style) else "paragraph"))
    return Document(name, with_heading_paths(blocks))


def _docx_heading_level(paragraph, style: str) -> int:  # noqa: ANN001 - docx Paragraph
    """1-based heading level, 0 for body text."""
    from docx.oxml.ns import qn

    if match := _DOCX_HEADING.match(style.strip()):
        return int(match.group(1))
    if style == "Title":
        return 1
    for owner in (paragraph._p, paragraph.style.element if paragraph.style is not None else None):
        properties = owner.find(qn("w:pPr")) if owner is not None else None
        outline = properties.find(qn("w:outlineLvl")) if properties is not None else None
        if outline is not None and (value := outline.get(qn("w:val"), "")).isdigit() and int(value) < 9:
            return int(value) + 1  # 9 means body text
    return 0


def _docx_rows(table) -> list[str]:  # noqa: ANN001 - docx Table
    """Row texts; a merged cell, which python-docx repeats for every column it spans, once."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(collapse_whitespace(cell.text))
        if text := " | ".join(c for c in cells if c):
            rows.append(text)
    return rows


LOADERS: dict[str, Callable[[bytes, str], Document]] = {
    ".txt": load_txt,
    ".rst": load_txt,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".xhtml": load_html,
    ".ipynb": load_notebook,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".epub": load_epub,
}


def loader_suffix(name: str) -> str:
    """The suffix that picks a file's loader; for a gzip file, that of the name inside it.

    >>> loader_suffix("FAQ.txt.gz"), loader_suffix("Guide.HTML"), loader_suffix("README.gz")
    ('.txt', '.html', '')
    """
    path = Path(name)
    if path.suffix.lower() == ".gz":
        path = Path(path.stem)
    return path.suffix.lower()


def loader_for(name: str) -> Callable[[bytes, str], Document] | None:
    """The loader of a file by its name: its suffix (see ``loader_suffix``), or for a file
    named by what it is (``README.Debian``, ``NEWS.gz``), plain text.

    >>> [loader_for(n).__name__ for n in ("ls.1.gz", "find.info-1", "README.Debian", "NEWS.gz")]
    ['load_man', 'load_info', 'load_txt', 'load_txt']
    """
    suffix = loader_suffix(name)
    if suffix in LOADERS:
        return LOADERS[suffix]
    if _MAN_SECTION.match(suffix):
        return load_man
    if _INFO.match(suffix):
        return load_info
    if _TEXT_NAME.match(re.sub(r"\.gz$", "", Path(name).name, flags=re.IGNORECASE)):
        return load_txt
    return None


def is_supported(name: str) -> bool:
    return loader_for(name) is not None


def load_bytes(data: bytes, name: str) -> Document:
    """Parse ``data`` by the suffix of ``name``; raise ``LoaderError`` on any problem."""
    suffix = loader_suffix(name)
    loader = loader_for(name)
    if loader is None:
        raise LoaderError(
            f"{name}: unsupported file type '{suffix or '(none)'}'; supported: {SUPPORTED}"
            f"{CONVERT_HINTS.get(suffix, '')}"
        )
    try:
        if name.lower().endswith(".gz"):
            data = gunzip(data, name)
        if not data.strip():
            raise LoaderError(f"{name}: the file is empty")
        document = loader(data, name)
    except DecodeError as exc:
        raise LoaderError(str(exc)) from exc
    except NoOwnText as exc:  # a link page: any loader may meet one
        raise Skipped(f"{name}: {exc}") from exc
    if not document.text.strip():
        drawn_by_script = " (a page drawn by JavaScript, such as a site's search page, has none)"
        hint = {".pdf": " (a scanned PDF needs OCR first)", ".html": drawn_by_script,
                ".htm": drawn_by_script}.get(suffix, "")
        raise LoaderError(f"{name}: no text could be extracted{hint}")
    return document


def load_file(path: str | Path) -> Document:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read the file ({exc.strerror})") from exc
    return load_bytes(data, str(path))


def iter_supported_files(paths: list[Path]) -> list[Path]:
    """Expand folders recursively into supported files, sorted, hidden files and copies
    skipped."""
    return scan_files(paths).supported


class Scan(NamedTuple):
    """What a set of paths holds: the files to read, the files of types aipath cannot read,
    and the files left out as copies of others (a Sphinx build's ``_sources``)."""

    supported: list[Path]
    other: list[Path]
    copies: list[Path]


def scan_files(paths: list[Path], exclude: Sequence[str] = ()) -> Scan:
    """The supported files under ``paths`` (folders expanded recursively, sorted, hidden
    files skipped), and the other files the folders hold, so a caller can say what it left
    out (a folder of .doc files should not look empty without a word). A file in a folder
    is left out altogether when its path in that folder matches an ``exclude`` pattern, or
    lies in a subfolder that does (``"*.html"``, ``"de"``, ``"??"``: the translations in
    /usr/share/man)."""
    scan = Scan([], [], [])
    for path in paths:
        if not path.is_dir():
            scan.supported.append(path)
            continue
        for p in sorted(_walk(path)):
            inside = p.relative_to(path)
            if any(part.startswith(".") for part in inside.parts) or _excluded(inside.as_posix(), exclude):
                continue
            if _in_sphinx_sources(inside, path):
                scan.copies.append(p)
            else:
                (scan.supported if is_supported(p.name) else scan.other).append(p)
    return scan


def _walk(folder: Path) -> Iterator[Path]:
    """Every file under ``folder``, through linked folders too (Debian's python3.11-doc/html
    is a link to ../python3.11/html), each real folder once, so a link loop ends."""
    seen: set[str] = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        yield from (Path(top, name) for name in files if os.path.isfile(os.path.join(top, name)))


def _in_sphinx_sources(inside: PurePath, root: Path) -> bool:
    """Inside the ``_sources`` folder of a Sphinx build (one beside its ``.buildinfo`` or
    ``searchindex.js``): the reST every HTML page of the build was made from, read from the
    pages already."""
    return any(folder.name == "_sources" and any((root / folder.parent / marker).is_file() for marker in SPHINX_BUILD)
               for folder in inside.parents)


def _excluded(relative: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, f"{pattern}/*")
               for pattern in patterns)
