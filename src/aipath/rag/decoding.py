"""Bytes to text: byte-order marks, the charset a page declares, the fallbacks that
Chinese and Western users' files need, and gzip.

Errors are ``DecodeError``s whose message names the file and says what to do; the loaders
report them as ``LoaderError``s.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib

MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # a compressed file (gzip, EPUB) is refused past this


class DecodeError(ValueError):
    """The bytes are not text this module can read."""


_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?([\w.:-]+)|<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""",
                      re.IGNORECASE)


def decode_text(data: bytes, name: str, declared: str | None = None) -> str:
    """Decode bytes that claim to be text, refusing binary data.

    A UTF-16 byte-order mark (Windows Notepad's "Unicode") decides; otherwise the encoding
    the file declares (an HTML page's charset), then UTF-8 (with or without BOM), then
    GB18030, which covers the GBK files Chinese users often have, then Windows-1252, which
    browsers assume for a legacy page that declares nothing (Latin-1 READMEs and HTML
    pages, such as some of Debian's). Binary data (NUL bytes, or many control characters)
    is refused.

    >>> decode_text("中文".encode("utf-16"), "notepad.txt"), decode_text("繁體".encode("big5"), "p.html", "big5")
    ('中文', '繁體')
    >>> decode_text("Fix typos (Jan Pokorný), naïve café".encode("cp1252"), "old.html")
    'Fix typos (Jan Pokorný), naïve café'
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        if b"\x00" in data[:8192]:
            raise DecodeError(f"{name}: looks like binary data, not text (it contains NUL bytes)")
        encodings = tuple(dict.fromkeys([*([declared] if declared else []),
                                         "utf-8-sig", "gb18030", "cp1252"]))
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DecodeError(f"{name}: not valid {' or '.join(encodings)} text; convert it to UTF-8")
    sample = text[:8192]
    control = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    if sample and control / len(sample) > 0.05:
        raise DecodeError(f"{name}: looks like binary data, not text (too many control bytes)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


# Labels that browsers (WHATWG's encoding standard) decode with a larger charset, and a
# UTF-16 label inside an ASCII-compatible page, which they read as UTF-8. UTF-8 is read
# as "utf-8-sig", so a byte-order mark before the page is dropped, not kept as text.
_CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                      "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
                      "big5": "big5hkscs", "shift_jis": "cp932", "euc-kr": "cp949",
                      "utf-8": "utf-8-sig", "utf8": "utf-8-sig",
                      "utf-16": "utf-8-sig", "utf-16le": "utf-8-sig", "utf-16be": "utf-8-sig"}


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in its first 2 KB (``<meta charset>``, the
    http-equiv form, or an XML declaration), as a Python codec name; None if absent or unknown.

    >>> declared_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=GB2312">')
    'gb18030'
    """
    match = _CHARSET.search(data[:2048])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    try:
        codecs.lookup(label)
    except LookupError:
        return None
    return _CHARSET_SUPERSETS.get(label, label)


def gunzip(data: bytes, name: str) -> bytes:
    """The content of a gzip file, refused past ``MAX_UNPACKED_BYTES`` (a gzip bomb stops
    there instead of filling memory)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            content = stream.read(MAX_UNPACKED_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DecodeError(f"{name}: not a valid gzip file ({exc}); it may be damaged or only "
                          "partly copied") from exc
    if len(content) > MAX_UNPACKED_BYTES:
        raise DecodeError(f"{name}: unpacks to more than {MAX_UNPACKED_BYTES >> 20} MiB")
    return content
