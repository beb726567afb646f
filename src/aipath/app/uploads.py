"""Turning an uploaded file into a ``SourceFile``: a safe name and a bounded size."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

from fastapi import UploadFile

from aipath.rag.ingest import SourceFile
from aipath.rag.loaders import SUPPORTED, is_supported

_UNSAFE = re.compile(r"[^\w.\- ]", re.UNICODE)


class UploadRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def safe_filename(raw: str | None) -> str:
    """The last path component of a client-sent name, stripped of anything risky.

    >>> safe_filename("../../etc/passwd.txt"), safe_filename("C:\\\\x\\\\报告.pdf")
    ('passwd.txt', '报告.pdf')
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = PurePosixPath(PureWindowsPath(name).name).name
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or name.startswith("."):
        raise UploadRejected(400, f"invalid file name {raw!r}")
    if not is_supported(name):
        raise UploadRejected(415, f"{name}: unsupported file type; supported: {SUPPORTED}")
    return name[-200:]


def read_upload(upload: UploadFile, limit: int) -> SourceFile:
    name = safe_filename(upload.filename)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(413, f"{name}: larger than the upload limit of {limit} bytes")
    return SourceFile(name=name, data=data, source=f"upload:{name}")
