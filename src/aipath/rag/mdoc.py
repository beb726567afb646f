"""BSD mdoc(7) man pages → blocks (OpenSSH's ``ssh.1`` and the BSD utilities' pages).

mdoc marks meaning, not looks: ``.Fl v`` is the flag ``-v``, ``.Xr ls 1`` a reference
``ls(1)``, ``.Op`` an optional part in brackets. ``render`` prints a line of such macros as
``man`` would; ``mdoc_blocks`` follows the page structure (``.Sh``, ``.Ss``, ``.Pp``, lists
with ``.It`` items, ``.Bd -literal`` displays).

>>> render(["Op", "Fl", "b", "Ar", "bind_address"], "ssh"), render(["Xr", "sshd", "8", ","], "")
('[-b bind_address]', 'sshd(8),')
"""

from __future__ import annotations

from aipath.rag.block_writer import BULLETS, BlockWriter, page_name
from aipath.rag.document import Block
from aipath.rag.roff import Request, Text

ENCLOSE = {"Aq": "⟨⟩", "Bq": "[]", "Brq": "{}", "Dq": "“”", "Op": "[]", "Pq": "()",
           "Qq": '""', "Sq": "‘’", "Ql": "‘’"}
OPEN = {"Ao": "⟨", "Bo": "[", "Bro": "{", "Do": "“", "Oo": "[", "Po": "(", "Qo": '"',
        "So": "‘", "Fo": ""}
CLOSE = {"Ac": "⟩", "Bc": "]", "Brc": "}", "Dc": "”", "Oc": "]", "Pc": ")", "Qc": '"',
         "Sc": "’", "Fc": ")"}
WORDS = {"Ux": "UNIX", "Bx": "BSD", "Bsx": "BSD/OS", "Ox": "OpenBSD", "Nx": "NetBSD",
         "Fx": "FreeBSD", "Dx": "DragonFly", "At": "AT&T UNIX"}
STANDARDS = {"-p1003.1": "IEEE Std 1003.1 (POSIX.1)", "-p1003.2": "IEEE Std 1003.2 (POSIX.2)",
             "-ansiC": "ANSI X3.159-1989 (ANSI C89)", "-isoC": "ISO/IEC 9899:1990 (ISO C90)",
             "-isoC-99": "ISO/IEC 9899:1999 (ISO C99)", "-susv3": "Version 3 of the Single UNIX "
             "Specification (SUSv3)", "-susv4": "Version 4 of the Single UNIX Specification"}
# Macros whose name is markup only: their arguments print as they are.
PLAIN = {"Ad", "An", "Cd", "Cm", "Dv", "Em", "Er", "Ev", "Fa", "Fd", "Ft", "Ic", "Li", "Lb",
         "Ms", "Mt", "No", "Pa", "Sx", "Sy", "Tn", "Va", "Vt", "Ta", "Xo", "Xc", "Ef", "Es",
         "Eo", "Ec", "Hf", "Fr", "Ot", "%A", "%B", "%C", "%D", "%I", "%J", "%N", "%O", "%P",
         "%Q", "%R", "%T", "%U", "%V"}
# Macros that print something of their own (``_macro``).
SPECIAL = {"Ar", "Ap", "Ns", "Pf", "Fl", "Nm", "Xr", "Fn", "Fo", "In", "St", "Lk", "Ex", "Rv", "Sm"}
MACROS = PLAIN | SPECIAL | set(ENCLOSE) | set(OPEN) | set(CLOSE) | set(WORDS)
_CLOSING_PUNCT = {".", ",", ";", ":", ")", "]", "?", "!"}


def render(tokens: list[str], name: str, spaced: bool = True) -> str:
    """A line of mdoc macros and words as ``man`` prints it; ``name`` is the page's ``.Nm``.
    ``.Sm off`` (or ``spaced=False``) prints words with no space between them."""
    out: list[str] = []
    glue = False  # the next word joins the last without a space
    line_start = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "Sm":  # on a line of its own: the next word starts a new line, spaced
            spaced = tokens[i + 1:i + 2] != ["off"]
            i += 2
            glue, line_start = False, True
            continue
        word, taken, glue_after = _macro(token, tokens[i + 1:], name) if token in MACROS \
            else (token, 0, False)
        i += 1 + taken
        if word:
            if out and (spaced or line_start) and not glue and word not in _CLOSING_PUNCT and \
                    out[-1][-1:] not in "([“‘⟨{":
                out.append(" ")
            out.append(word)
            line_start = False
        glue = glue_after
    return "".join(out).strip()


def _macro(macro: str, rest: list[str], name: str) -> tuple[str, int, bool]:
    """What ``macro`` prints, how many of the ``rest`` tokens it took as arguments, and
    whether the next word joins it without a space."""
    args = _args(rest)
    if macro in ENCLOSE:
        inner, trailing = list(rest), []
        while inner and inner[-1] in _CLOSING_PUNCT:
            trailing.insert(0, inner.pop())
        left, right = ENCLOSE[macro]
        return left + render(inner, name) + right + "".join(trailing), len(rest), False
    if macro == "Fo":
        return (rest[0] + "(" if rest else ""), min(1, len(rest)), True
    if macro in OPEN:
        return OPEN[macro], 0, True
    if macro in CLOSE:
        return CLOSE[macro], 0, False
    if macro in WORDS:
        return WORDS[macro], 0, False
    if macro in ("Ns", "Ap"):
        return ("'" if macro == "Ap" else ""), 0, True
    if macro == "Pf":
        return (rest[0] if rest else ""), min(1, len(rest)), True
    if macro == "Fl":
        return (" ".join("-" + a for a in args) if args else "-"), len(args), False
    if macro == "Nm":
        return (args[0] if args else name), min(1, len(args)), False
    if macro == "Ar" and not args:
        return "file ...", 0, False
    if macro == "Xr" and len(args) >= 2:
        return f"{args[0]}({args[1]})", 2, False
    if macro == "Fn" and args:
        return f"{args[0]}({', '.join(args[1:])})", len(args), False
    if macro == "In" and args:
        return f"#include <{args[0]}>", 1, False
    if macro == "St" and args:
        return STANDARDS.get(args[0], args[0]), 1, False
    if macro == "Lk" and args:
        return " ".join(args[1:]) or args[0], len(args), False
    if macro in ("Ex", "Rv"):
        what = ("utility exits 0 on success, and >0 if an error occurs" if macro == "Ex" else
                "function returns 0 on success; otherwise -1 and errno is set")
        return f"The {name} {what}.", len(args), False
    return "", 0, False


def _args(tokens: list[str]) -> list[str]:
    """The plain arguments before the next macro or closing punctuation."""
    args = []
    for token in tokens:
        if token in MACROS or token in _CLOSING_PUNCT:
            break
        args.append(token)
    return args


def mdoc_blocks(lines: list[Request | Text]) -> tuple[list[Block], tuple[str, str]]:
    out = BlockWriter()
    page, name = ("", ""), ""
    lists: list[str] = []  # the open .Bl lists' types
    spaced = True  # .Sm off: no spaces between a macro line's words
    extended: list[str] | None = None  # an .It … Xo tag, collected up to its Xc
    for line in lines:
        tokens = [line.name] + line.args if isinstance(line, Request) else line.text.split()
        if extended is not None:
            extended += tokens[:tokens.index("Xc")] if "Xc" in tokens else tokens
            if "Xc" in tokens:
                _item(extended, name, lists, out)
                extended = None
            continue
        if isinstance(line, Text):
            out.text(line.text)
            continue
        macro, args = line.name, line.args
        if macro == "Dt":
            page = page_name(args)
        elif macro == "Nm" and args and not name:
            name = args[0]
            out.text(render(tokens, name))
        elif macro in ("Sh", "Ss"):
            out.heading(render(args, name), 2 if macro == "Sh" else 3)
        elif macro == "Ed":
            out.end_code()
        elif macro in ("Pp", "Lp", "El"):
            out.flush()
            if macro == "El" and lists:
                lists.pop()
        elif macro == "Bl":
            out.flush()
            lists.append(args[0] if args else "")
        elif macro == "It" and args[-1:] == ["Xo"]:
            out.flush()
            extended = args[:-1]
        elif macro == "It":
            out.flush()
            _item(args, name, lists, out)
        elif macro == "Bd" and {"-literal", "-unfilled"} & set(args):
            out.start_code()
        elif macro == "Bd":
            out.flush()
        elif macro == "Dl":  # one literal line
            out.start_code()
            out.text(render(args, name))
            out.end_code()
        elif macro == "D1":
            out.paragraph(render(args, name))
        elif macro == "Nd":
            out.text("— " + render(args, name))
        elif macro == "Sm":
            spaced = args[:1] != ["off"]
        elif macro not in ("Dd", "Os", "Bf", "Ef", "Bk", "Ek", "Rs", "Re", "br", "sp"):
            out.text(render(tokens, name, spaced))
    out.flush()
    return out.blocks, page


def _item(args: list[str], name: str, lists: list[str], out: BlockWriter) -> None:
    """An ``.It`` line. Its tag is a paragraph of its own, unless the list's items are marked
    by bullets, dashes or numbers (which carry no words); a ``-column`` list's item is a table
    row, its cells split at ``Ta``."""
    kind = lists[-1] if lists else ""
    if kind == "-column":
        cells, cell = [], []
        for token in args + ["Ta"]:
            if token == "Ta":
                cells.append(render(cell, name))
                cell = []
            else:
                cell.append(token)
        if row := " | ".join(c for c in cells if c):
            out.blocks.append(Block(row, kind="table"))
        return
    tag = render(args, name)
    if kind not in ("-bullet", "-dash", "-hyphen", "-enum", "-item") and not BULLETS.match(tag):
        out.paragraph(tag)
