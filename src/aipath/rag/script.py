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
