"""PDF structure: outline titles become headings, running headers go, pages stay cited."""

from __future__ import annotations

from aipath.rag.loaders import load_bytes

# (depth, title printed on the page, bookmark title, body); bookmarks often leave out the
# section number, and an acronym that opens a title is not one.
SECTIONS = [
    (0, "1 Installing", "1 Installing", "Download the installer. Run it as an administrator."),
    (1, "1.1 Requirements", "1.1 Requirements", "You need 2 GB of memory and a network connection."),
    (0, "2 Running", "2 Running", "Start the service with the run command."),
    (1, "2.1 SSH logs", "SSH logs", "Logs are written to the journal of the system."),
]


def _book() -> bytes:
    """Four pages with bookmarks (fpdf2's sections) and a running header with page numbers."""
    from fpdf import FPDF

    class Book(FPDF):
        def header(self) -> None:
            self.set_font("helvetica", size=9)
            self.cell(0, 8, f"The Manual {self.page_no()}/ 4", new_x="LMARGIN", new_y="NEXT")

    pdf = Book()
    for depth, title, bookmark, body in SECTIONS:
        pdf.add_page()
        pdf.set_font("helvetica", size=14)
        pdf.start_section(bookmark, level=depth)
        pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 8, body)
    return bytes(pdf.output())


def test_outline_titles_become_headings_with_levels_and_pages() -> None:
    doc = load_bytes(_book(), "manual.pdf")
    headings = [(b.level, b.text, b.page) for b in doc.blocks if b.kind == "heading"]
    assert headings == [(1, "1 Installing", 1), (2, "1.1 Requirements", 2),
                        (1, "2 Running", 3), (2, "2.1 SSH logs", 4)]
    logs = next(b for b in doc.blocks if "journal" in b.text)
    assert logs.heading_path == ("2 Running", "2.1 SSH logs") and logs.page == 4


def test_running_header_is_dropped_and_text_kept() -> None:
    doc = load_bytes(_book(), "manual.pdf")
    assert "The Manual" not in doc.text
    for *_, body in SECTIONS:
        assert body in doc.text.replace("\n", " ")


def test_pdf_without_outline_still_loads_page_by_page() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in ["Alpha page.", "Beta page."]:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    doc = load_bytes(bytes(pdf.output()), "plain.pdf")
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [
        ("paragraph", "Alpha page.", 1), ("paragraph", "Beta page.", 2)]


def test_pdf_without_outline_takes_headings_from_font_sizes() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    for size, text in [(20, "User Guide"), (14, "1 Installing"), (11, "Download the installer."),
                       (11, "Run it as an administrator."), (14, "2 Running"),
                       (11, "Start the service with the run command.")]:
        pdf.set_font("helvetica", size=size)
        pdf.cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
    doc = load_bytes(bytes(pdf.output()), "guide.pdf")
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "User Guide"), ("heading", 2, "1 Installing"),
        ("paragraph", 0, "Download the installer.\nRun it as an administrator."),
        ("heading", 2, "2 Running"), ("paragraph", 0, "Start the service with the run command.")]
    assert doc.blocks[-1].heading_path == ("User Guide", "2 Running")


def _lines_pdf(lines: list[str], **encryption: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    if encryption:
        pdf.set_encryption(**encryption)
    for row, line in enumerate(lines):
        pdf.text(20, 20 + 6 * row, line)
    return bytes(pdf.output())


def test_line_end_hyphens_join_split_words_and_keep_compounds() -> None:
    # LaTeX hyphenates justified English; a hyphen that belongs to the word stays.
    doc = load_bytes(_lines_pdf([
        "The programs are entirely li-", "censed under the GPL. Run apt-",
        "get, or run apt-get again. It runs on MS-", "DOS too."]), "hyphens.pdf")
    assert doc.text == ("The programs are entirely licensed under the GPL. Run apt-get, or run "
                        "apt-get again. It runs on MS-DOS too.")


def test_word_gaps_set_as_kerning_still_separate_words() -> None:
    """LaTeX justifies lines by widening the gaps inside one TJ text run, with no space
    glyph at all; the words must still come apart (pypdf glued whole lines together)."""
    import io
    from pathlib import Path

    import matplotlib
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject, ContentStream, NumberObject

    words = ["LinuxCNC", "is", "free", "software"]
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", fname=str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"))
    pdf.set_font("dejavu", size=10)
    pdf.text(20, 20, "".join(words))
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    page = writer.pages[0]
    stream = ContentStream(page.get_contents(), writer)
    for number, (operands, operator) in enumerate(stream.operations):
        if operator == b"Tj":  # one string of 2-byte glyph ids → words apart by 0.32 em
            glyphs, pieces, at = bytes(operands[0].original_bytes), ArrayObject(), 0
            for word in words:
                pieces += [ByteStringObject(glyphs[at:at + 2 * len(word)]), NumberObject(-320)]
                at += 2 * len(word)
            stream.operations[number] = ([ArrayObject(pieces[:-1])], b"TJ")
    page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    assert load_bytes(out.getvalue(), "kerned.pdf").text == "LinuxCNC is free software"


def test_encrypted_pdf_needs_a_password_but_an_owner_password_alone_does_not() -> None:
    import pytest

    from aipath.rag.loaders import LoaderError

    with pytest.raises(LoaderError, match="encrypted"):
        load_bytes(_lines_pdf(["secret"], owner_password="o", user_password="u"), "locked.pdf")
    # "Restrict editing" PDFs open without a password: readers show them, so do we.
    assert load_bytes(_lines_pdf(["Printable, not editable."], owner_password="o"),
                      "restricted.pdf").text == "Printable, not editable."


def test_pdfs_load_from_many_threads_at_once() -> None:
    """The API parses uploads on worker threads and PDFium is not thread-safe."""
    from concurrent.futures import ThreadPoolExecutor

    books = [_book(), _lines_pdf(["Only one page."])] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = list(pool.map(lambda data: load_bytes(data, "x.pdf").text, books))
    assert texts == [load_bytes(data, "x.pdf").text for data in books]


def test_table_of_contents_lines_are_dropped() -> None:
    from aipath.rag.pdf_loader import _CONTENTS_LINE

    doc = load_bytes(_lines_pdf([
        "Contents", "1.1 The Software . . . . . . . . . . . . 1", "1.2 Install .............. iv",
        "The software runs on Linux. See section 1.2... for more."]), "toc.pdf")
    assert doc.text == "Contents\nThe software runs on Linux. See section 1.2... for more."
    assert _CONTENTS_LINE.search("第 2 章 安装……………… 12")  # Chinese leaders (CJK fonts)
    assert not _CONTENTS_LINE.search("Version 1.2.3.4 5")
