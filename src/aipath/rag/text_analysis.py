"""Lexical analysis for BM25, with Chinese as a first-class language.

Text is NFKC-normalised (full-width → half-width) and lower-cased. Runs of CJK ideographs
go through jieba's search mode, which emits both words and their sub-words (so 数据库
also matches 数据); everything else is split into words, English words Snowball-stemmed.
Stop words of both languages, question words included, are dropped.

>>> analyze("如何构建向量数据库？ Building indexes")
['构建', '向量', '数据', '据库', '数据库', 'build', 'index']
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

from aipath.rag.script import IDEOGRAPHS

CJK_RUN = re.compile(f"[{IDEOGRAPHS}]+")
_WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*", re.UNICODE)

ENGLISH_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself
yourselves
""".split())

CHINESE_STOPWORDS = frozenset("""
的 了 是 在 和 与 及 或 也 就 都 而 并 把 被 让 给 对 从 向 到 于 以 之 其 这 那 这个 那个 这些 那些
一个 一种 什么 怎么 怎样 怎么样 如何 为什么 哪 哪个 哪些 哪里 吗 呢 吧 啊 呀 么 嘛 我 你 他 她 它 我们
你们 他们 可以 能 会 要 需要 应该 是否 有没有 有 没有 没 不 很 还 又 再 更 最 个 些 中 上 下 时 里 后
请问 请 一下 使用 用
""".split())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def word_frequency(word: str) -> int:
    """How often jieba's dictionary counts ``word``: 0 for a word it does not know."""
    return _jieba().dt.FREQ.get(word, 0)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def _latin_tokens(text: str) -> list[str]:
    tokens = []
    for word in _WORD.findall(text):
        if word in ENGLISH_STOPWORDS:
            continue
        tokens.append(_stem(word) if word.isascii() and word.isalpha() else word)
        if "_" in word:  # snake_case identifiers also match their parts
            tokens.extend(_stem(part) for part in word.split("_") if part not in ENGLISH_STOPWORDS)
    return tokens


def chinese_words(run: str) -> list[str]:
    """A run of Chinese characters cut into words, each once and in order (jieba's precise
    mode; ``analyze`` uses the search mode, which adds every long word's parts)."""
    return _jieba().lcut(run)


def _cjk_tokens(run: str, parts: bool) -> list[str]:
    words = _jieba().lcut_for_search(run) if parts else chinese_words(run)
    return [w for w in words if w.strip() and w not in CHINESE_STOPWORDS]


def analyze(text: str, parts: bool = True) -> list[str]:
    """Terms of ``text`` for BM25, in order (repeats kept: term frequency matters). With
    ``parts`` (as BM25 indexes), a long Chinese word also gives its parts (文件夹: 文件, 件夹,
    文件夹); without, each word once, for counting what a query asks."""
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    cursor = 0
    for match in CJK_RUN.finditer(text):
        tokens.extend(_latin_tokens(text[cursor:match.start()]))
        tokens.extend(_cjk_tokens(match.group(), parts))
        cursor = match.end()
    tokens.extend(_latin_tokens(text[cursor:]))
    return tokens
