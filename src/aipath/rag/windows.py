"""Dense windows: the short passages whose embeddings stand for a chunk in the vector index.

A chunk of a few hundred tokens is a good unit for BM25 and for the answer's context, but a
small embedding model's single vector of it blurs: the one sentence that answers a question is
averaged with the rest. So a chunk is embedded as a few windows of whole sentences (at
most ``max_tokens`` each, a longer sentence alone), each led by the chunk's innermost
heading (``window_title``), and the chunk's dense score is its best window's. On the
development sets (devsets/RESULTS.md) this lifted dense-only nDCG@10 on every set and hybrid
on the Chinese ones; ``max_tokens=0`` keeps one vector per chunk (knowledge bases made before
this).

>>> from aipath.rag.tokens import RegexTokenizer
>>> dense_windows("Guide > Install", "One two. Three four. Five six.", 6, RegexTokenizer())
['Install\\nOne two. Three four.', 'Install\\nFive six.']
"""

from __future__ import annotations

from aipath.rag.chunking import sentence_spans
from aipath.rag.store import index_text
from aipath.rag.tokens import Tokenizer, default_tokenizer

# Section titles that name no subject: a man page's, and those of manuals written like one.
GENERIC_SECTIONS = frozenset({
    "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXAMPLE", "SEE ALSO", "FILES",
    "ENVIRONMENT", "EXIT STATUS", "RETURN VALUE", "ERRORS", "NOTES", "BUGS", "AUTHOR",
    "AUTHORS", "HISTORY", "COMMANDS", "USAGE", "CONFIGURATION", "DIAGNOSTICS",
    "名称", "名字", "概述", "总览", "描述", "说明", "选项", "参数", "示例", "例子", "范例", "参见", "另见",
    "文件", "环境", "环境变量", "返回值", "错误", "注意", "作者", "历史", "命令", "用法"})


def window_title(heading: str) -> str:
    """What leads a chunk's windows: its innermost heading, and when that names no subject
    (a man page's OPTIONS), the document's top heading before it, so the window says whose
    options these are. On three sets of man pages this lifted hybrid nDCG@10 by 0.018-0.022
    and changed nothing elsewhere (devsets/RESULTS.md, 2026-12-07).

    >>> window_title("Guide > Install"), window_title("ls(1) > OPTIONS"), window_title("ls(1) > 描述")
    ('Install', 'ls(1) OPTIONS', 'ls(1) 描述')
    """
    parts = heading.split(" > ")
    if len(parts) > 1 and parts[-1].upper() in GENERIC_SECTIONS:
        return f"{parts[0]} {parts[-1]}"
    return parts[-1]


def dense_windows(heading: str, text: str, max_tokens: int,
                  tokenizer: Tokenizer | None = None) -> list[str]:
    """The texts to embed for one chunk (its whole index text when ``max_tokens`` is 0)."""
    if max_tokens <= 0:
        return [index_text(heading, text)]
    tokenizer = tokenizer or default_tokenizer()
    title = window_title(heading)
    groups: list[tuple[int, int]] = []  # character spans of sentence groups
    used = 0
    for start, end in sentence_spans(text, 0, len(text)):
        tokens = len(tokenizer.offsets(text[start:end]))
        if groups and used + tokens <= max_tokens:
            groups[-1] = (groups[-1][0], end)
            used += tokens
        else:
            groups.append((start, end))
            used = tokens
    return [index_text(title, text[a:b]) for a, b in groups] or [index_text(heading, text)]
