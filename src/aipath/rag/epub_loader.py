"""EPUB → blocks: the book's XHTML documents read in spine (reading) order.

An EPUB is a zip: ``META-INF/container.xml`` names the package file (OPF), whose manifest
lists every file and whose spine lists the documents in reading order. Each document is
XHTML, read by the HTML loader, so chapters keep their headings, code and tables. The
EPUB 3 navigation document (the book's table of contents) is left out, as navigation is
on web pages; the title comes from the package's ``dc:title``.

Refused with a message: a file that is not a zip or has no package file, and a book whose
documents are encrypted (DRM; encrypted fonts alone are common and harmless).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from urllib.parse import unquote
from xml.etree import ElementTree

from aipath.rag.decoding import MAX_UNPACKED_BYTES  # a zip bomb is refused before it is inflated

_CONTAINER_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container"}
_OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
_XHTML_TYPES = ("application/xhtml+xml", "text/html")


class EpubError(ValueError):
    """The bytes are not a readable EPUB; the message says why."""


def epub_documents(data: bytes) -> tuple[list[bytes], str]:
    """The book's XHTML documents in reading order, and its title."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in book.infolist()) > MAX_UNPACKED_BYTES:
            raise EpubError(f"it unpacks to more than {MAX_UNPACKED_BYTES >> 20} MiB")
        root, package_path = _package_path(book)
        package = ElementTree.fromstring(book.read(root + package_path))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise EpubError(f"not a readable EPUB ({exc})") from exc
    base = posixpath.dirname(package_path)  # manifest paths are relative to the package
    items = {item.get("id"): item for item in package.iterfind("opf:manifest/opf:item", _OPF_NS)}
    paths = []
    for ref in package.iterfind("opf:spine/opf:itemref", _OPF_NS):
        item = items.get(ref.get("idref"))
        if item is None or item.get("media-type") not in _XHTML_TYPES:
            continue
        if "nav" in (item.get("properties") or "").split():
            continue
        paths.append(posixpath.normpath(posixpath.join(base, unquote(item.get("href", "")))))
    _refuse_drm(book, root, paths)
    try:
        documents = [book.read(root + path) for path in paths]
    except KeyError as exc:
        raise EpubError(f"the package lists a missing document ({exc})") from exc
    title = package.findtext("opf:metadata/dc:title", default="", namespaces=_OPF_NS).strip()
    return documents, title


def _package_path(book: zipfile.ZipFile) -> tuple[str, str]:
    """The book's root folder in the zip and its package file's path from there, as named
    by META-INF/container.xml. The root is normally the zip's top, but some tools zip the
    book's folder (``epub/META-INF/…``, as Debian's Debian Edu manual does); readers still
    open it."""
    containers = sorted((n for n in book.namelist() if n.endswith("META-INF/container.xml")),
                        key=len)
    if not containers:
        raise KeyError("no META-INF/container.xml")
    root = containers[0].removesuffix("META-INF/container.xml")
    container = ElementTree.fromstring(book.read(containers[0]))
    rootfile = container.find("c:rootfiles/c:rootfile", _CONTAINER_NS)
    if rootfile is None or not rootfile.get("full-path"):
        raise KeyError("META-INF/container.xml names no package file")
    return root, rootfile.get("full-path")


def _refuse_drm(book: zipfile.ZipFile, root: str, paths: list[str]) -> None:
    """Encrypted documents read as noise: refuse them rather than index noise."""
    if root + "META-INF/encryption.xml" not in book.namelist():
        return
    encryption = book.read(root + "META-INF/encryption.xml").decode("utf-8", "replace")
    if any(f'URI="{path}"' in encryption or f"URI='{path}'" in encryption for path in paths):
        raise EpubError("the book is encrypted (DRM); export an unprotected copy first")

