"""Byte-level BPE, written the minbpe way: train, encode, decode, special tokens.

Byte-pair encoding starts from the 256 possible bytes and repeatedly *merges* the most
frequent adjacent pair into a new token. Encoding replays the learned merges in the order
they were learned (lowest rank first); decoding concatenates each token's bytes. Because
the base alphabet is bytes, any text (Chinese, emoji, code) round-trips with no unknown
token.

Worked example (the classic one from Wikipedia), training 3 merges on ``"aaabdaaabac"``:

1. the pair ``(a, a)`` occurs 4 times -> new token 256 = ``b"aa"``;
   the text becomes ``aa a b d aa a b a c``;
2. ``(aa, a)`` and ``(a, b)`` both occur twice; the first seen wins -> 257 = ``b"aaa"``;
3. ``(aaa, b)`` occurs twice -> 258 = ``b"aaab"``.

Then ``encode("aaabdaaabac") == [258, 100, 258, 97, 99]`` (``d`` = 100, ``a`` = 97,
``c`` = 99), and ``decode`` of those ids gives the text back.

Before BPE, text is *pre-tokenised* by regular expressions so merges never cross a word
boundary (GPT-2 splits off contractions, letter runs, digit runs, punctuation runs and
whitespace; SmolLM additionally isolates every digit). Special tokens such as
``<|im_start|>`` are cut out first and mapped straight to their ids.
"""

from __future__ import annotations

from collections import Counter

import regex

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
DIGITS_PATTERN = r"\p{N}"  # one digit per piece (SmolLM, StarCoder)


def pretokenize(text: str, patterns: list[str]) -> list[str]:
    """Split ``text`` by each pattern in turn; matches and the gaps between them become pieces."""
    pieces = [text]
    for pattern in patterns:
        compiled = regex.compile(pattern)
        pieces = [p for piece in pieces for p in _split_isolated(piece, compiled)]
    return pieces


def _split_isolated(text: str, pattern: regex.Pattern) -> list[str]:
    out, pos = [], 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append(text[pos : m.start()])
        if m.end() > m.start():
            out.append(m.group())
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


class BPETokenizer:
    """Byte-level BPE over ``vocab`` (id -> bytes) with ``merges`` in rank order."""

    def __init__(
        self,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special: dict[str, int] | None = None,
        patterns: list[str] | None = None,
    ) -> None:
        self.vocab = vocab
        self.ids = {b: i for i, b in vocab.items()}
        self.ranks = {pair: r for r, pair in enumerate(merges)}
        self.special = dict(special or {})
        self.special_ids = {i: s for s, i in self.special.items()}
        self.patterns = [GPT2_PATTERN] if patterns is None else patterns
        by_length = sorted(self.special, key=len, reverse=True)
        self._special_re = regex.compile("|".join(regex.escape(s) for s in by_length)) if by_length else None
        self._cache: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return max([*self.vocab, *self.special_ids]) + 1

    # -- training ---------------------------------------------------------------------
    @classmethod
    def train(cls, text: str, vocab_size: int, patterns: list[str] | None = None, special: list[str] | None = None) -> "BPETokenizer":
        """Learn ``vocab_size - 256`` merges from ``text`` (special tokens get the ids after)."""
        assert vocab_size >= 256, "the 256 byte tokens are always in the vocabulary"
        patterns = [GPT2_PATTERN] if patterns is None else patterns
        chunks = [list(p.encode()) for p in pretokenize(text, patterns)]
        vocab = {i: bytes([i]) for i in range(256)}
        merges = []
        for new_id in range(256, vocab_size):
            counts = Counter(pair for ids in chunks for pair in zip(ids, ids[1:]))
            if not counts:
                break
            pair = max(counts, key=counts.__getitem__)  # first seen wins ties
            chunks = [_merge(ids, pair, new_id) for ids in chunks]
            vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
            merges.append((vocab[pair[0]], vocab[pair[1]]))
        specials = {s: len(vocab) + i for i, s in enumerate(special or [])}
        return cls(vocab, merges, specials, patterns)

    # -- encoding ---------------------------------------------------------------------
    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Token ids of ``text``; special-token strings become their ids unless disallowed."""
        ids: list[int] = []
        for part, is_special in self._split_special(text, allow_special):
            if is_special:
                ids.append(self.special[part])
            else:
                for piece in pretokenize(part, self.patterns):
                    ids.extend(self._encode_piece(piece))
        return ids

    def _split_special(self, text: str, allow: bool) -> list[tuple[str, bool]]:
        if not allow or self._special_re is None:
            return [(text, False)]
        out, pos = [], 0
        for m in self._special_re.finditer(text):
            if m.start() > pos:
                out.append((text[pos : m.start()], False))
            out.append((m.group(), True))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], False))
        return out

    def _encode_piece(self, piece: str) -> list[int]:
        """Apply merges to one pre-token, lowest rank first (memoised: words repeat a lot)."""
        if piece in self._cache:
            return self._cache[piece]
        data = piece.encode()
        parts = [data[i : i + 1] for i in range(len(data))]
        while len(parts) > 1:
            rank, pair = min((self.ranks.get(p, len(self.ranks)), p) for p in zip(parts, parts[1:]))
            if rank == len(self.ranks):
                break
            parts = _merge(parts, pair, pair[0] + pair[1])
        ids = [self.ids[p] for p in parts]
        if len(self._cache) < 100_000:
            self._cache[piece] = ids
        return ids

    # -- decoding ---------------------------------------------------------------------
    def decode_bytes(self, ids: list[int]) -> bytes:
        return b"".join(self.special_ids[i].encode() if i in self.special_ids else self.vocab[i] for i in ids)

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; bytes that are not valid UTF-8 (a cut character) become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def token_id(self, text: str) -> int:
        """Id of a special token or of a single ordinary token."""
        return self.special[text] if text in self.special else self.ids[text.encode()]


def _merge(seq: list, pair: tuple, new: object) -> list:
    """Replace every non-overlapping occurrence of ``pair`` (left to right) by ``new``."""
    out, i = [], 0
    while i < len(seq):
        if i + 1 < len(seq) and seq[i] == pair[0] and seq[i + 1] == pair[1]:
            out.append(new)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out
