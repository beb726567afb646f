"""Man pages (man(7) and mdoc(7)): exact blocks on pages written here, and the words groff
prints, as the oracle, on those pages and on the system's own pages."""

from __future__ import annotations

import collections
import gzip
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aipath.rag.loaders import LoaderError, Skipped, is_supported, load_bytes
from aipath.rag.man_loader import man_blocks

# A man(7) page with what generators put in real ones: DocBook's and pod2man's preambles
# (a string chosen by a conditional, a macro definition), a tbl table, \c, a link.
MAN_PAGE = r"""'\" t
.\" Generator: written for aipath's tests
.TH "FROB\-FILES" "1" "2026-12-07" "frob 1.0" "User Commands"
.ie \n(.g .ds Aq \(aq
.el       .ds Aq '
.de Vb
.nf
..
.if t \{\
.ds lq ``
this line is for typesetters only
.\}
.SH "NAME"
frob-files \- frobnicate files in place
.SH SYNOPSIS
.nf
\fBfrob\-files\fR [\fB\-n\fR] [\fB\-\-level\fR=\fIN\fR] \fIFILE\fR...
.fi
.SH DESCRIPTION
.B frob-files
rewrites each
.I FILE
in place \(em it never makes a backup, so don\*(Aqt run it on your only copy.
Read
.BR frob.conf (5)
for the defaults.
.PP
See the project page
.UR https://frob.example.org/
for news
.UE .
.SS Options
.TP
\fB\-n\fR, \fB\-\-dry\-run\fR
show what would change, change nothing
.TP
.B \-\-level=N
how hard to frobnicate, 1 to 9\c
; the default is 5.
.IP \(bu 2
Levels above 7 are slow.
.SH "EXIT STATUS"
.TS
tab(:);
lb l.
0:T{
every file was frobnicated
T}
1:a file could not be read
.TE
"""

MAN_BLOCKS = [
    ("heading", 1, "frob-files(1)"),
    ("heading", 2, "NAME"),
    ("paragraph", 0, "frob-files - frobnicate files in place"),
    ("heading", 2, "SYNOPSIS"),
    ("code", 0, "frob-files [-n] [--level=N] FILE..."),
    ("heading", 2, "DESCRIPTION"),
    ("paragraph", 0, "frob-files rewrites each FILE in place — it never makes a backup, so don't "
                     "run it on your only copy. Read frob.conf(5) for the defaults."),
    ("paragraph", 0, "See the project page for news ⟨https://frob.example.org/⟩."),
    ("heading", 3, "Options"),
    ("paragraph", 0, "-n, --dry-run"),
    ("paragraph", 0, "show what would change, change nothing"),
    ("paragraph", 0, "--level=N"),
    ("paragraph", 0, "how hard to frobnicate, 1 to 9; the default is 5."),
    ("paragraph", 0, "Levels above 7 are slow."),
    ("heading", 2, "EXIT STATUS"),
    ("table", 0, "0 | every file was frobnicated"),
    ("table", 0, "1 | a file could not be read"),
]

MDOC_PAGE = r""".\" An mdoc(7) page, the way OpenBSD writes them.
.Dd $Mdocdate: December 7 2026 $
.Dt FETCHMAIL 1
.Os
.Sh NAME
.Nm fetchmail
.Nd fetch mail from a remote server
.Sh SYNOPSIS
.Nm fetchmail
.Op Fl qv
.Op Fl p Ar port
.Ar host
.Sh DESCRIPTION
.Nm
connects to
.Ar host
and delivers new mail, as
.Xr mail 1
does.
The options are as follows:
.Bl -tag -width Ds
.It Fl p Ar port
Connect to
.Ar port
instead of 110.
.It Xo
.Fl u
.Sm off
.Oo Ar user No @ Oc Ar host
.Sm on
.Xc
Log in as
.Ar user .
.El
.Bd -literal -offset indent
$ fetchmail -p 995 mail.example.org
.Ed
.Sh EXIT STATUS
.Ex -std
"""

MDOC_BLOCKS = [
    ("heading", 1, "fetchmail(1)"),
    ("heading", 2, "NAME"),
    ("paragraph", 0, "fetchmail — fetch mail from a remote server"),
    ("heading", 2, "SYNOPSIS"),
    ("paragraph", 0, "fetchmail [-qv] [-p port] host"),
    ("heading", 2, "DESCRIPTION"),
    ("paragraph", 0, "fetchmail connects to host and delivers new mail, as mail(1) does. "
                     "The options are as follows:"),
    ("paragraph", 0, "-p port"),
    ("paragraph", 0, "Connect to port instead of 110."),
    ("paragraph", 0, "-u [user@]host"),
    ("paragraph", 0, "Log in as user."),
    ("code", 0, "$ fetchmail -p 995 mail.example.org"),
    ("heading", 2, "EXIT STATUS"),
    ("paragraph", 0, "The fetchmail utility exits 0 on success, and >0 if an error occurs."),
]


def _shape(blocks) -> list[tuple[str, int, str]]:
    return [(b.kind, b.level, b.text) for b in blocks]


def test_man_page_blocks() -> None:
    blocks, title = man_blocks(MAN_PAGE)
    assert _shape(blocks) == MAN_BLOCKS
    assert title == "frob-files - frobnicate files in place"


def test_mdoc_page_blocks() -> None:
    blocks, title = man_blocks(MDOC_PAGE)
    assert _shape(blocks) == MDOC_BLOCKS
    assert title == "fetchmail — fetch mail from a remote server"


def test_a_gzipped_man_page_loads_with_its_heading_paths() -> None:
    doc = load_bytes(gzip.compress(MAN_PAGE.encode()), "frob-files.1.gz")
    assert doc.title == "frob-files - frobnicate files in place"
    option = next(b for b in doc.blocks if b.text.startswith("show what"))
    assert option.heading_path == ("frob-files(1)", "DESCRIPTION", "Options")


def test_a_chinese_man_page() -> None:
    page = ".TH LS 1\n.SH 名称\nls \\- 列出目录内容\n.SH 描述\n列出 FILE 的信息（默认为当前目录）。\n" \
           ".TP\n\\fB\\-a\\fR, \\fB\\-\\-all\\fR\n不忽略以 . 开头的项目\n"
    doc = load_bytes(page.encode("utf-8"), "ls.1")
    assert doc.title == "ls - 列出目录内容"
    assert _shape(doc.blocks)[3:] == [("heading", 2, "描述"),
                                      ("paragraph", 0, "列出 FILE 的信息（默认为当前目录）。"),
                                      ("paragraph", 0, "-a, --all"),
                                      ("paragraph", 0, "不忽略以 . 开头的项目")]


@pytest.mark.parametrize(("name", "supported"), [
    ("ls.1", True), ("ls.1.gz", True), ("Dpkg::Arch.3perl.gz", True), ("openssl.1ssl.gz", True),
    ("bash.info.gz", True), ("find.info-1.gz", True), ("notes.2024", False), ("a.info-x", False),
])
def test_man_and_info_names_are_recognised(name: str, supported: bool) -> None:
    assert is_supported(name) is supported


@pytest.mark.parametrize(("data", "name", "error", "message"), [
    (b".so man1/frob-files.1\n", "frob.1", Skipped, r"only points to another one \(man1/frob-files.1\)"),
    (b"just some notes\nwith a dot at the end.\n", "notes.1", LoaderError, "not a man page"),
])
def test_pages_without_text_of_their_own_are_refused_clearly(data: bytes, name: str, error: type,
                                                             message: str) -> None:
    with pytest.raises(error, match=message) as caught:
        load_bytes(data, name)
    assert (caught.type is Skipped) == (error is Skipped)


# --- groff as the oracle --------------------------------------------------------------


def _groff_words(source: bytes) -> collections.Counter:
    """The words ``groff`` prints for a page, its running header and footer left out."""
    text = subprocess.run(["groff", "-mandoc", "-t", "-Tutf8", "-P-cbou", "-rLL=400n", "-rHY=0"],
                          input=source, capture_output=True, check=True).stdout.decode("utf-8")
    lines = text.strip().split("\n")
    return _words("\n".join(lines[1:-1]))


def _words(text: str) -> collections.Counter:
    return collections.Counter(w.lower() for w in re.findall(r"\w+", text))


def _agreement(source: bytes) -> tuple[float, float]:
    """(recall, precision) of our words against groff's; our level-1 heading is a header."""
    blocks, _ = man_blocks(source.decode("utf-8"))
    ours = _words("\n".join(b.text for b in blocks if b.level != 1))
    theirs = _groff_words(source)
    common = sum((ours & theirs).values())
    return common / max(1, sum(theirs.values())), common / max(1, sum(ours.values()))


needs_groff = pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")


@needs_groff
@pytest.mark.parametrize("page", [MAN_PAGE, MDOC_PAGE], ids=["man", "mdoc"])
def test_the_words_are_those_groff_prints(page: str) -> None:
    recall, precision = _agreement(page.encode("utf-8"))
    assert recall == 1.0 and precision == 1.0


@needs_groff
def test_system_man_pages_read_as_groff_prints_them() -> None:
    pages = sorted(Path("/usr/share/man").glob("man[1-8]/*.gz"))
    if len(pages) < 50:
        pytest.skip("too few man pages installed")
    sample = random.Random(7).sample(pages, 150)
    scores = []
    for path in sample:
        source = gzip.decompress(path.read_bytes())
        if re.match(rb"^\.so ", source.strip()):
            continue
        try:
            source.decode("utf-8")
        except UnicodeDecodeError:
            continue
        scores.append(_agreement(source))
    recall = sum(r for r, _ in scores) / len(scores)
    precision = sum(p for _, p in scores) / len(scores)
    assert recall > 0.99 and precision > 0.99, (recall, precision)


def test_a_folder_of_man_pages_and_info_manuals_goes_into_a_knowledge_base(tmp_path: Path,
                                                                           home: Path) -> None:
    """``aipath kb add`` on a man folder: pages and manuals are added, a ``.so`` link page is
    skipped with its reason (no failure: man folders are full of them), and questions find
    the page and the manual's section."""
    from aipath.rag.kb import KnowledgeBase
    from aipath.rag.retriever import SearchConfig, search

    from .conftest import kb_create_and_add
    from .test_info_loader import INFO

    man1 = tmp_path / "man" / "man1"
    man1.mkdir(parents=True)
    (man1 / "frob-files.1.gz").write_bytes(gzip.compress(MAN_PAGE.encode()))
    (man1 / "frob.1").write_bytes(b".so man1/frob-files.1\n")
    (tmp_path / "man" / "frob.info.gz").write_bytes(gzip.compress(INFO.encode()))
    code, output = kb_create_and_add(home, "man", tmp_path / "man")
    assert code == 0 and "2 added" in output and "1 skipped" in output, output
    assert "skipped man1/frob.1: the page only points to another one (man1/frob-files.1)" in output
    kb = KnowledgeBase(home, "man")
    hit = search(kb, "what does exit status 1 of frob-files mean?", SearchConfig(top_k=1)).hits[0]
    assert hit.chunk.source == "man1/frob-files.1.gz"
    assert hit.chunk.heading.startswith("frob-files(1) > ")
    assert "1 | a file could not be read" in hit.chunk.text
    hit = search(kb, "how do I see what would change first?", SearchConfig(top_k=1)).hits[0]
    assert hit.chunk.source == "frob.info.gz" and hit.chunk.heading == "1 Invoking frob > 1.1 Options"


def test_damaged_pages_load_or_fail_with_a_loader_error() -> None:
    """Truncated, spliced and garbled roff (unbalanced conditionals, escapes past Unicode,
    self-referencing strings, tables never closed) never raise anything but LoaderError."""
    rng = random.Random(11)
    pieces = [b"\\", b"\\f", b"\\(", b"\\[", b"\\*(", b".ie ", b".el ", b"\\{", b"\\}", b".de X\n",
              b".TS\n", b"T{\n", b".TP\n", b".SH\n", b".It ", b" Ta ", b".Sm off\n", b"Xo\n",
              b"\\N'99999999'", b"\\[u110000]", b"\\[uD800]", b".ds a \\*a\\*a\n\\*a\n", b".so\n"]
    for page, name in [(MAN_PAGE, "frob-files.1"), (MDOC_PAGE, "fetchmail.1")]:
        for _ in range(300):
            data = bytearray(page.encode())
            for _ in range(rng.randint(1, 6)):
                at = rng.randrange(len(data) + 1)
                if rng.random() < 0.6:
                    data[at:at] = rng.choice(pieces)
                else:
                    del data[at:at + rng.randint(1, 80)]
            try:
                load_bytes(bytes(data), name)
            except LoaderError:
                pass
