"""Character classes of the writing systems that treat a character as a word.

Chinese is written without spaces, so analysis (jieba), chunking (line-wrap joining),
evaluation (a character counts as a word), language detection and the embedder choice all
need to know which characters are ideographs; they share these ranges so they agree.

>>> IDEOGRAPH.findall("BM25 与向量检索")
['与', '向', '量', '检', '索']
"""

from __future__ import annotations

import re

# CJK Unified Ideographs, extension A, and the compatibility ideographs.
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Japanese kana and Korean hangul: also one unit a character for counting purposes.
KANA_HANGUL = "\u3040-\u30ff\uac00-\ud7af"
# CJK punctuation, full-width forms and curly quotes, which sit inside Chinese text.
CJK_PUNCTUATION = "\u3000-\u303f\uff00-\uffef\u201c\u201d\u2018\u2019"

IDEOGRAPH = re.compile(f"[{IDEOGRAPHS}]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def language_of(text: str) -> str:
    """"zh" when the text has at least as many CJK characters as Latin words: a Chinese
    question often names its subject in English, and a Chinese word is about two
    characters where an English one is about six letters.

    >>> language_of("什么是 PagedAttention？"), language_of("How does jieba split 中文 text?")
    ('zh', 'en')
    """
    return "zh" if len(IDEOGRAPH.findall(text)) >= max(1, len(_LATIN_WORD.findall(text))) else "en"
