"""Loaders: every format yields text with structure; bad files give clear LoaderErrors."""

from __future__ import annotations

import io

import pytest

from aipath.rag.loaders import LoaderError, iter_supported_files, load_bytes


def _pdf(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def _docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Guide", level=1)
    document.add_paragraph("Intro paragraph.")
    document.add_heading("Install", level=2)
    document.add_paragraph("Run make install.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "key", "value"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_markdown_headings_and_code_fences() -> None:
    doc = load_bytes(b"# A\n\ntext a\n\n## B\n\n```\n# not a heading\n\ncode\n```\n\ntext b\n", "x.md")
    kinds = [(b.kind, b.text) for b in doc.blocks]
    assert kinds == [("heading", "A"), ("paragraph", "text a"), ("heading", "B"),
                     ("code", "```\n# not a heading\n\ncode\n```"), ("paragraph", "text b")]
    assert doc.blocks[-1].heading_path == ("A", "B")
    assert doc.title == "A"
    for block in doc.blocks:  # offsets point into the joined text
        assert doc.text[block.start:block.end] == block.text


def test_html_keeps_main_content_and_headings() -> None:
    html = (b"<html><head><title>T</title><script>x=1</script></head><body><nav>Home</nav>"
            b"<div class='body'><h1>Title<a class='headerlink'>#</a></h1><p>Para <b>one</b>.</p>"
            b"<ul><li><p>item</p></li></ul><pre>a = 1\n\nb = 2</pre></div></body></html>")
    doc = load_bytes(html, "page.html")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Title"), ("paragraph", "Para one."), ("paragraph", "item"),
        ("code", "a = 1\n\nb = 2")]
    assert "Home" not in doc.text and "x=1" not in doc.text
    assert doc.title == "T"


def test_pdf_pages_are_numbered() -> None:
    doc = load_bytes(_pdf(["First page text.", "Second page text."]), "a.pdf")
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "First page text."), (2, "Second page text.")]


def test_docx_headings_and_tables() -> None:
    doc = load_bytes(_docx(), "g.docx")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Guide"), ("paragraph", "Intro paragraph."), ("heading", "Install"),
        ("paragraph", "Run make install."), ("table", "key | value")]
    assert doc.blocks[3].heading_path == ("Guide", "Install")


def test_gb18030_text_is_decoded() -> None:
    doc = load_bytes("中文文档。\n\n第二段。".encode("gb18030"), "zh.txt")
    assert doc.text == "中文文档。\n\n第二段。"


@pytest.mark.parametrize("data,name,message", [
    (b"%PDF-1.4 garbage that is not a pdf", "bad.pdf", "not a readable PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", "binary"),
    (b"", "empty.md", "empty"),
    (b"   \n\n  ", "blank.txt", "empty"),
    (b"hello", "data.xlsx", "unsupported file type"),
    (b"PK\x03\x04 not really a zip", "broken.docx", "not a readable .docx"),
    (b"<html><body><script>only()</script></body></html>", "noscript.html", "no text"),
])
def test_bad_files_raise_clear_errors(data: bytes, name: str, message: str) -> None:
    with pytest.raises(LoaderError, match=message):
        load_bytes(data, name)


def test_folder_expansion_is_recursive_and_skips_hidden(tmp_path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.md").write_text("x")
    (tmp_path / "a" / "y.txt").write_text("y")
    (tmp_path / "a" / "z.bin").write_text("z")
    (tmp_path / "a" / ".hidden").mkdir()
    (tmp_path / "a" / ".hidden" / "h.md").write_text("h")
    found = iter_supported_files([tmp_path / "a"])
    assert [p.name for p in found] == ["x.md", "y.txt"]
