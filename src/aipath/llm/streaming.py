"""Turning a growing list of token ids into text deltas that are safe to print.

A byte-level BPE token can end in the middle of a multi-byte UTF-8 character (an emoji is
4 bytes, often spread over 2-3 tokens), so bytes are held back until the character is
complete. Stop strings are matched on the text, and text that *might* be the start of a
stop string is held back too, so a stop string is never half-printed. ``until_looping``
ends a stream that has fallen into a greedy loop.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator


def complete_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # continuation byte: keep looking for the lead byte
            continue
        need = 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
        return len(data) - back if need > back else len(data)
    return len(data)


class TextStream:
    """Feed token bytes in, get printable text deltas out; ``stopped`` once a stop string appears."""

    def __init__(self, stop: tuple[str, ...] = ()) -> None:
        self.stop = stop
        self.data = b""
        self.emitted = 0  # characters of the decoded text already handed out
        self.stopped = False

    def push(self, token_bytes: bytes) -> str:
        """Add one token's bytes; return the text that became safe to show (maybe "")."""
        self.data += token_bytes
        text = self.data[: complete_prefix(self.data)].decode("utf-8", errors="replace")
        return self._release(text, final=False)

    def finish(self) -> str:
        """Everything still held back (incomplete bytes become U+FFFD)."""
        return self._release(self.data.decode("utf-8", errors="replace"), final=True)

    @property
    def text(self) -> str:
        """The full text so far, cut before a stop string if one appeared."""
        text = self.data.decode("utf-8", errors="replace")
        return text[: self._stop_at(text)] if self.stopped else text

    def _release(self, text: str, final: bool) -> str:
        if self.stopped:
            return ""
        end = self._stop_at(text)
        if end < len(text):
            self.stopped = True
        elif not final:
            end -= self._partial_stop(text)
        delta = text[self.emitted : end]
        self.emitted = max(self.emitted, end)
        return delta

    def _stop_at(self, text: str) -> int:
        """Index of the earliest stop string in ``text`` (len(text) when none)."""
        hits = [i for i in (text.find(s, max(0, self.emitted - len(s))) for s in self.stop) if i >= 0]
        return min(hits, default=len(text))

    def _partial_stop(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of a stop string."""
        return max((n for s in self.stop for n in range(1, len(s)) if text.endswith(s[:n])), default=0)


def looping_tail(text: str, min_period: int = 16, max_period: int = 300) -> bool:
    """Whether ``text`` ends in the same stretch written twice in a row (a greedy loop).

    Small models decoding greedily fall into loops they never leave ("It is a type of X.
    It is a type of X. …" until the token limit), often counting as they go ("24. 16 GB
    processor 25. 16 GB processor …"), so numbers are compared as one symbol. Two
    identical consecutive stretches of 16+ characters almost never occur in a real answer.

    >>> looping_tail("Intro. It is a type of latency (LAL). It is a type of latency (LAL). ")
    True
    >>> looping_tail("Needs:\\n24. 16 GB processor\\n25. 16 GB processor\\n")
    True
    >>> looping_tail("- pip install a\\n- pip install b\\n")
    False
    """
    text = re.sub(r"\d+", "#", text)
    for period in range(min_period, min(max_period, len(text) // 2) + 1):
        if text[-period:] == text[-2 * period:-period]:
            return True
    return False


def until_looping(deltas: Generator[str, None, None]) -> Iterator[str]:
    """Pass text deltas through, and stop (closing the generator, so decoding stops too)
    once the text so far ends in a loop (``looping_tail``)."""
    text = ""
    for delta in deltas:
        yield delta
        text += delta
        if looping_tail(text):
            deltas.close()
            return
