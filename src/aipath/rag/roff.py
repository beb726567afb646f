"""The troff layer under man pages: escapes, requests, conditionals and strings.

A man page is troff source. ``RoffReader.read`` turns it into the *lines* a macro package
sees: ``Request("TP", [])`` for a control line, ``Text`` for a text line, with every escape
already turned into the characters nroff would print (fonts, sizes and motions dropped).
Conditionals are decided the way nroff decides them (``.ie n`` holds, ``.if t`` does not),
so the DocBook and pod2man preambles pick their terminal branch; macro definitions and
``.ig`` blocks are skipped, ``.ds`` strings are remembered and expanded.

>>> reader = RoffReader()
>>> reader.read('.ds Aq \\\\(aq\\n.TH LS 1\\nDon\\\\*(Aqt \\\\fBlist\\\\fR \\\\-a \\\\(em ok\\n')
[Request(name='TH', args=['LS', '1'], defined=False), Text(text="Don't list -a — ok")]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GLUE = "\ue000"  # what \c leaves at the end of a line: the next text continues it, no space

SPECIAL = {
    "em": "—", "en": "–", "hy": "-", "mi": "-", "aq": "'", "dq": '"', "lq": "“", "rq": "”",
    "oq": "‘", "cq": "’", "Bq": "„", "bq": "‚", "Fo": "«", "Fc": "»", "bu": "•", "co": "©",
    "rg": "®", "tm": "™", "ga": "`", "aa": "´", "ti": "~", "ha": "^", "rs": "\\", "ba": "|",
    "br": "|", "sl": "/", "ul": "_", "ru": "_", "pl": "+", "eq": "=", "mu": "×", "di": "÷",
    ">=": "≥", "<=": "≤", "!=": "≠", "==": "≡", "+-": "±", "->": "→", "<-": "←", "<>": "↔",
    "de": "°", "sc": "§", "ps": "¶", "dg": "†", "ct": "¢", "Eu": "€", "eu": "€", "Po": "£",
    "Ye": "¥", "fm": "′", "sd": "″", "at": "@", "sh": "#", "Do": "$", "ss": "ß", "ae": "æ",
    "AE": "Æ", "oe": "œ", "OE": "Œ", "/o": "ø", "/O": "Ø", "oa": "å", "oA": "Å", "lB": "[",
    "rB": "]", "lC": "{", "rC": "}", "la": "⟨", "ra": "⟩", "or": "|", "no": "¬", "OK": "✓",
    "ua": "↑", "da": "↓", "rA": "⇒", "lA": "⇐", "if": "∞", "sq": "□", "ci": "○", "12": "½",
    "14": "¼", "34": "¾", "S1": "¹", "S2": "²", "S3": "³", "*a": "α", "*b": "β", "*m": "μ",
    "*p": "π", "*l": "λ", "*s": "σ", "ap": "~", "dd": "‡", "Of": "ª", "Om": "º",
}
_ACCENTS = {"'": "\u0301", "`": "\u0300", ":": "\u0308", "^": "\u0302", "~": "\u0303",
            ",": "\u0327", "v": "\u030c", "o": "\u030a"}
SINGLE = {"-": "-", "e": "\\", "E": "\\", "\\": "\\", "&": "", "|": "", "^": "", " ": " ",
          "~": " ", "0": " ", "%": "", ":": "", ",": "", "/": "", "'": "´", "`": "`",
          ".": ".", "t": "\t", "a": "", "p": "", "r": "", "u": "", "d": "", "{": "", "}": "",
          "c": GLUE, "!": "", "?": ""}
DEFAULT_STRINGS = {"lq": "“", "rq": "”", "R": "®", "Tm": "™", "Aq": "'", "dq": '"',
                   "Lq": "“", "Rq": "”"}

_NAME = r"(?:\[[^\]]*\]|\(..|.)"  # a name after an escape: [long], (xx or one character
_ESCAPE = re.compile(
    r"\\(?:"
    rf"(?P<string>\*{_NAME})"
    rf"|\((?P<two>..)|\[(?P<long>[^\]]*)\]"
    rf"|(?P<drop>[fFmMgkVYn][+-]?{_NAME}|\$(?:{_NAME}|\*|@)|s(?:[+-]?\(\d\d|[+-]?\[[^\]]*\]|[+-]?\d))"
    r"|(?P<hmove>h'(?P<amount>[^']*)')"
    r"|N'(?P<code>\d+)'"
    r"|(?P<quoted>[vwlLoXZDbxRSABC]'[^']*')"
    r"|z"
    r"|(?P<char>.)"
    r")", re.DOTALL)


@dataclass
class Request:
    """A control line: ``.TP``, ``.SH "NAME"``; arguments unquoted, escapes expanded."""

    name: str
    args: list[str]
    defined: bool = False  # a macro the page defines itself (``.de``): its arguments are text


@dataclass
class Text:
    """A text line as printed (ending in ``GLUE`` when the next one continues it)."""

    text: str


def special_char(name: str) -> str:
    """The character a ``\\(xx`` or ``\\[name]`` escape stands for ('' if unknown).

    >>> special_char("em"), special_char("'e"), special_char("u00E9"), special_char("char65")
    ('—', 'é', 'é', 'A')
    """
    if name in SPECIAL:
        return SPECIAL[name]
    if len(name) == 2 and name[0] in _ACCENTS and name[1].isalpha():
        return unicodedata.normalize("NFC", name[1] + _ACCENTS[name[0]])
    if re.fullmatch(r"u[0-9A-Fa-f]{4,6}(?:_[0-9A-Fa-f]{4,6})*", name):
        return unicodedata.normalize("NFC", "".join(_char(int(c, 16)) for c in name[1:].split("_")))
    if re.fullmatch(r"char\d+", name):
        return _char(int(name[4:]))
    return ""


def _char(code: int) -> str:
    """The character with this code point; '' for none (a surrogate, or beyond Unicode)."""
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else ""


class RoffReader:
    """troff source → ``Request`` / ``Text`` lines, as nroff would read them."""

    def __init__(self) -> None:
        self.strings: dict[str, str] = dict(DEFAULT_STRINGS)
        self.macros: set[str] = set()  # defined by the page
        self._else: list[bool] = []  # .ie results waiting for their .el

    def read(self, source: str) -> list[Request | Text]:
        out: list[Request | Text] = []
        lines = _logical_lines(source)
        i = 0
        while i < len(lines):
            i = self._line(lines, i, out)
        return out

    def expand(self, text: str, depth: int = 0) -> str:
        """Every escape in ``text`` turned into what it prints."""
        def one(m: re.Match) -> str:
            if m.group("string"):
                value = self.strings.get(_strip_name(m.group("string")[1:]), "")
                return self.expand(value, depth + 1) if depth < 8 else ""
            if m.group("two") is not None:
                return special_char(m.group("two"))
            if m.group("long") is not None:
                return special_char(m.group("long"))
            if m.group("hmove") is not None:  # a move right is a gap; nroff prints it as spaces
                return " " if not m.group("amount").lstrip("+").startswith("-") else ""
            if m.group("code") is not None:
                return _char(int(m.group("code")))
            if m.group("char") is not None:
                return SINGLE.get(m.group("char"), m.group("char"))
            return ""

        return _ESCAPE.sub(one, text)

    def _line(self, lines: list[str], i: int, out: list[Request | Text]) -> int:
        """Handle ``lines[i]`` (conditionals may consume more); return the next index."""
        line = lines[i].replace("\\}", "")  # a taken block's end: nothing to do
        if line[:1] not in (".", "'"):
            if line.strip() or not lines[i].strip():
                out.append(Text(self.expand(line)))
            return i + 1
        name, rest = _split_request(line[1:])
        if name in ("if", "ie", "el"):
            return self._conditional(name, rest, lines, i, out)
        if name in ("de", "de1", "am", "am1", "ig"):  # a definition or a comment block: skipped
            words = rest.split()
            if name != "ig" and words:
                self.macros.add(words[0])
            terminator = (words[1:2] if name != "ig" else words[:1]) or ["."]
            end = re.compile(rf"^[.'][ \t]*{re.escape(terminator[0])}(?:[ \t]|$)")
            while i + 1 < len(lines) and not end.match(lines[i + 1]):
                i += 1
            return i + 2
        if name == "ds" or name == "ds1":
            key, _, value = rest.partition(" ")
            self.strings[key] = value[1:] if value.startswith('"') else value
        elif name == "als" and len(words := rest.split()) == 2 and words[1] in self.macros:
            self.macros.add(words[0])
        elif name:
            out.append(Request(name, [self.expand(a) for a in split_args(rest)], name in self.macros))
        return i + 1

    def _conditional(self, name: str, rest: str, lines: list[str], i: int,
                     out: list[Request | Text]) -> int:
        if name == "el":
            taken, body = (not self._else.pop()) if self._else else False, rest
        else:
            taken, body = self._condition(rest)
            if name == "ie":
                self._else.append(taken)
        body = body.lstrip()
        block = body.startswith("\\{")
        if block:
            body = body[2:].lstrip()
        if not taken:
            return _skip_block(lines, i, body) if block else i + 1
        if body.strip():
            lines[i] = body
            return self._line(lines, i, out)
        return i + 1

    def _condition(self, rest: str) -> tuple[bool, str]:
        """(Is the condition true for nroff?, the text after it)."""
        rest = rest.lstrip()
        negate = rest.startswith("!")
        rest = rest[1:] if negate else rest
        if rest[:1] in "'\"" and rest:  # 'a'b': a string comparison
            delim = rest[0]
            parts = rest[1:].split(delim, 2)
            if len(parts) == 3:
                return (self.expand(parts[0]) == self.expand(parts[1])) != negate, parts[2]
        cond, _, body = rest.partition(" ")
        if cond in ("d", "r", "c", "m", "F", "S"):  # a name follows: defined, a register, …
            key, _, body = body.partition(" ")
            return (cond == "d" and key in self.strings) != negate, body
        return _nroff_truth(cond) != negate, body


def _nroff_truth(cond: str) -> bool:
    """``n`` and ``o`` hold in nroff; a register comparison holds only for groff's ``.g``
    (so pod2man's and DocBook's groff branches are the ones taken)."""
    if cond in ("n", "o"):
        return True
    if cond in ("t", "e", "v"):
        return False
    value = re.sub(r"\\n(?:\(\.g|\[\.g\])", "1", cond)
    value = re.sub(r"\\n" + _NAME, "0", value)
    if m := re.fullmatch(r"\(?(-?\d+)\)?(?:([<>]=?|==?|!=)(-?\d+))?", value):
        left = int(m.group(1))
        if not m.group(2):
            return left > 0
        right = int(m.group(3))
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right,
                "=": left == right, "==": left == right, "!=": left != right}[m.group(2)]
    return False


def _skip_block(lines: list[str], i: int, body: str) -> int:
    """The index after a not-taken ``\\{ … \\}`` block that opens on line ``i``."""
    depth = 1 + body.count("\\{") - body.count("\\}")
    while depth > 0 and i + 1 < len(lines):
        i += 1
        depth += lines[i].count("\\{") - lines[i].count("\\}")
    return i + 1


def _logical_lines(source: str) -> list[str]:
    """Physical lines with comments dropped and escaped newlines joined."""
    source = source.replace("\r\n", "\n")
    source = re.sub(r"\\\n", "", source)
    lines = []
    for line in source.removesuffix("\n").split("\n"):
        if re.match(r"^[.'][ \t]*\\[\"#]", line):
            continue  # a whole-line comment: no blank line either
        lines.append(re.sub(r'\\["#].*', "", line))
    return lines


def _split_request(line: str) -> tuple[str, str]:
    """``" TP 4"`` → ``("TP", "4")``: a request's name and the raw text after it."""
    name, rest = re.match(r"[ \t]*(\S*)[ \t]*(.*)", line, re.DOTALL).groups()
    return name, rest


def split_args(rest: str) -> list[str]:
    """Macro arguments: split at unescaped blanks, "double quotes" group, "" is a quote.

    >>> split_args('"a b" c\\\\ d ""')
    ['a b', 'c\\\\ d', '']
    """
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t":
            i += 1
        if i >= n:
            break
        quoted = rest[i] == '"'
        i += quoted
        arg = []
        while i < n:
            ch = rest[i]
            if ch == "\\" and i + 1 < n:
                arg.append(rest[i:i + 2])
                i += 2
                continue
            if quoted and ch == '"':
                if rest[i + 1:i + 2] == '"':
                    arg.append('"')
                    i += 2
                    continue
                i += 1
                break
            if not quoted and ch in " \t":
                break
            arg.append(ch)
            i += 1
        args.append("".join(arg))
    return args


def _strip_name(name: str) -> str:
    """``(xx`` → ``xx``, ``[long]`` → ``long``, ``x`` → ``x``."""
    if name.startswith("("):
        return name[1:3]
    if name.startswith("["):
        return name[1:-1]
    return name
