"""Jupyter notebooks (.ipynb, nbformat 4) → their cells, in order.

A learner's notes are notebooks: Markdown cells that explain, code cells that run, and what
the code printed. Each cell comes out as ("markdown" | "code" | "output", text); the caller
renders the Markdown. Of a cell's outputs only text is kept (a stream, a result's
``text/plain`` form, an error's name and message): images, HTML and widgets have no words to
search, and an output is cut at ``MAX_OUTPUT`` characters, since a training loop's log of a
thousand lines says little a question needs.

>>> nb = {"nbformat": 4, "cells": [
...     {"cell_type": "markdown", "source": ["# LoRA\\n", "Train two small matrices."]},
...     {"cell_type": "code", "source": "print(8 * 4096)", "outputs": [
...         {"output_type": "stream", "name": "stdout", "text": ["32768\\n"]}]}]}
>>> notebook_cells(json.dumps(nb).encode())
[('markdown', '# LoRA\\nTrain two small matrices.'), ('code', 'print(8 * 4096)'), ('output', '32768')]
"""

from __future__ import annotations

import json
from typing import Any

MAX_OUTPUT = 2000


class NotebookError(ValueError):
    """Not a notebook aipath can read; the message says why and what to do."""


def notebook_cells(data: bytes) -> list[tuple[str, str]]:
    try:
        notebook = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NotebookError(f"not a Jupyter notebook: invalid JSON ({exc})") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", notebook.get("worksheets")), list):
        raise NotebookError("not a Jupyter notebook: no list of cells")
    version = notebook.get("nbformat", 4)
    if not isinstance(version, int) or version < 4:
        raise NotebookError(f"a version {version} notebook; open and save it in "
                            "Jupyter (or `jupyter nbconvert --to notebook`) to convert it to version 4")
    out = []
    for cell in notebook["cells"]:
        if not isinstance(cell, dict):
            raise NotebookError("not a Jupyter notebook: a cell is not an object")
        kind = cell.get("cell_type")
        source = _text(cell.get("source", "")).strip()
        if source and kind in ("markdown", "code"):
            out.append((kind, source))
        elif source and kind == "raw":
            out.append(("output", source))
        outputs = cell.get("outputs") if kind == "code" else None
        for output in outputs if isinstance(outputs, list) else []:
            if text := _output_text(output):
                out.append(("output", text))
    return out


def _text(value: Any) -> str:
    """nbformat stores multi-line strings as one string or as a list of lines."""
    if isinstance(value, list):
        return "".join(str(line) for line in value)
    return value if isinstance(value, str) else ""


def _output_text(output: Any) -> str:
    if not isinstance(output, dict):
        return ""
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
    elif kind in ("execute_result", "display_data"):
        data = output.get("data")
        text = _text(data.get("text/plain")) if isinstance(data, dict) else ""
    elif kind == "error":
        text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
    else:
        return ""
    text = text.strip()
    return text[:MAX_OUTPUT] + " …" if len(text) > MAX_OUTPUT else text
