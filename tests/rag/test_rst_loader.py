"""reStructuredText / plain-text structure: section titles checked against docutils."""

from __future__ import annotations

import pytest

from aipath.rag.loaders import load_bytes
from aipath.rag.rst_loader import rst_blocks, strip_inline_markup
from aipath.rag.store import index_text

SECTIONS = """\
==============
 Manual title
==============

Intro paragraph with :func:`os.path.join` and *emphasis*.

Installing
==========

Use the installer.

Options
-------

Some options.

--------------

Advanced
~~~~~~~~

Deep text.

Running
=======

Run it.

Caveats
-------

None.
"""


def docutils_sections(text: str) -> list[tuple[int, str]]:
    from docutils import nodes
    from docutils.core import publish_doctree

    tree = publish_doctree(text, settings_overrides={"report_level": 5, "halt_level": 5})
    out = []
    for section in tree.findall(nodes.section):
        depth = 0
        parent = section.parent
        while parent is not None:
            depth += isinstance(parent, nodes.section)
            parent = parent.parent
        out.append((depth + 1, section[0].astext()))
    return out


def test_section_levels_match_docutils() -> None:
    ours = [(b.level, b.text) for b in rst_blocks(SECTIONS) if b.kind == "heading"]
    # docutils promotes a lone top title to the document title; count it as level 1 too
    assert ours[0] == (1, "Manual title")
    assert ours[1:] == [(level + 1, title) for level, title in docutils_sections(SECTIONS)]


def test_text_is_verbatim_and_transitions_dropped() -> None:
    blocks = rst_blocks(SECTIONS)
    texts = [b.text for b in blocks if b.kind == "paragraph"]
    assert "Intro paragraph with :func:`os.path.join` and *emphasis*." in texts
    assert not any(set(t) <= set("-=~ ") for t in texts)


API = """\
.. module:: shutil
   :synopsis: High-level file operations.

.. function:: copy(src, dst, *, \\
                   follow_symlinks=True)

   Copy *src* to *dst*.

.. class:: Copier(root)
   :noindex:

   Copies trees.

   .. method:: run(dry=False)

      Do it. Example::

         c = Copier("/")

         c.run()

      After the example.

.. code-block:: python
   :emphasize-lines: 1

   print("hi")
"""


def test_api_entries_nest_like_rendered_pages() -> None:
    doc = load_bytes(API.encode(), "shutil.rst.txt")
    headings = [(b.level, b.text) for b in doc.blocks if b.kind == "heading"]
    assert headings == [(6, "shutil.copy(src, dst, *, follow_symlinks=True)"),
                        (6, "shutil.Copier(root)"), (7, "run(dry=False)")]
    by_text = {b.text: b for b in doc.blocks}
    assert by_text["Do it. Example::"].heading_path == ("shutil.Copier(root)", "run(dry=False)")
    assert by_text["After the example."].heading_path[-1] == "run(dry=False)"
    assert "synopsis" not in doc.text and ":noindex:" not in doc.text


def test_literal_blocks_and_code_directives_stay_whole() -> None:
    code = [b.text for b in load_bytes(API.encode(), "x.rst").blocks if b.kind == "code"]
    assert code == ['c = Copier("/")\n\nc.run()', 'print("hi")']


def test_plain_text_keeps_its_paragraphs() -> None:
    text = "First line\nstill first.\n\nSecond paragraph.\n\n\n  Third, indented.\n"
    blocks = load_bytes(text.encode(), "notes.txt").blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "First line\nstill first."), ("paragraph", "Second paragraph."),
        ("paragraph", "Third, indented.")]


def test_chinese_titles_with_short_underlines() -> None:
    text = "安装指南\n====\n\n先安装。\n\n配置\n----\n\n再配置。\n"
    doc = load_bytes(text.encode(), "指南.txt")
    assert doc.title == "安装指南"
    assert [b.heading_path for b in doc.blocks if b.kind == "paragraph"] == [
        ("安装指南",), ("安装指南", "配置")]


@pytest.mark.parametrize("marked, plain", [
    ("If *capture_output* is true", "If capture_output is true"),
    (":meth:`!Popen.wait` and :class:`~subprocess.Popen`", "Popen.wait and subprocess.Popen"),
    (":ref:`the guide <guide-target>`", "the guide"),
    ("``None`` or **bold**", "None or bold"),
    ("f(*args, **kwargs) and 2*3*4", "f(*args, **kwargs) and 2*3*4"),
])
def test_inline_markup_reduced_for_indexing(marked: str, plain: str) -> None:
    assert strip_inline_markup(marked) == plain
    assert index_text("", marked) == plain


DOCBOOK_DUMP = """\
第 2 章 Debian 软件包管理

    现在，有 68980 个可用于 amd64 架构的软
    件包。

2.1. Debian 软件包管理的前提

    先读这一节。

2.1.1. 软件包配置

    1. 这是列表项，不是标题。

2021 年 1 月
"""


def test_numbered_titles_of_plain_text_dumps() -> None:
    doc = load_bytes(DOCBOOK_DUMP.encode(), "debian-reference.txt")
    assert [(b.level, b.text) for b in doc.blocks if b.kind == "heading"] == [
        (1, "第 2 章 Debian 软件包管理"), (2, "2.1. Debian 软件包管理的前提"),
        (3, "2.1.1. 软件包配置")]
    assert doc.blocks[-1].heading_path[-1] == "2.1.1. 软件包配置"


def test_hard_wrapped_chinese_is_joined() -> None:
    doc = load_bytes(DOCBOOK_DUMP.encode(), "debian-reference.txt")
    assert "有 68980 个可用于 amd64 架构的软件包。" in doc.text
    html = "<p>如果可能，会提供到其他文档的\n   链接。Wrapped\nEnglish keeps a space.</p>"
    assert load_bytes(html.encode(), "faq.html").text == \
        "如果可能，会提供到其他文档的链接。Wrapped English keeps a space."


def test_table_of_contents_dropped_numbered_steps_kept() -> None:
    text = ("目录\n\n1. 定义和概览\n    1.1. 本 FAQ 文档是什么？\n    1.2. 什么是 Debian？\n"
            "2. 获取和安装\n    2.1. 从哪里获取？\n\n"
            "To install:\n\n1. Download it.\n2. Unpack it.\n3. Run setup.\n4. Reboot.\n")
    texts = [b.text for b in load_bytes(text.encode(), "faq.txt").blocks]
    assert not any("本 FAQ 文档是什么" in t for t in texts)
    assert "1. Download it.\n2. Unpack it.\n3. Run setup.\n4. Reboot." in texts


def test_long_numbered_titles_wrap() -> None:
    text = ("4.5. 我可以在我的 Debian GNU/Linux 系统使用 Red\nHat 软件包（“.rpm”文件）吗？\n\n"
            "    不同的发行版使用不同的软件包格式。\n")
    doc = load_bytes(text.encode(), "faq.txt")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "4.5. 我可以在我的 Debian GNU/Linux 系统使用 Red Hat 软件包（“.rpm”文件）吗？"),
        ("paragraph", "不同的发行版使用不同的软件包格式。")]


def test_grid_tables_become_rows() -> None:
    text = ("+---------------+-----------------+\n"
            "|     操作      |      响应       |\n"
            "|---------------+-----------------|\n"
            "|单击右键       |依赖上下文的菜单（剪切、粘 |\n"
            "|               |贴）             |\n"
            "+---------------+-----------------+\n\nAfter.\n")
    doc = load_bytes(text.encode(), "table.txt")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("table", "操作 | 响应"), ("table", "单击右键 | 依赖上下文的菜单（剪切、粘贴）"),
        ("paragraph", "After.")]


COMMENTS = """\
wadllib navigates HTTP resources.

..
    Copyright (C) 2008-2009 Canonical Ltd.

    This file is part of wadllib, free software under the GNU LGPL.

.. a note to editors on one line

.. image:: https://example.org/badge.svg
   :target: https://example.org/ci

.. [1] A footnote stays.

..

    A block quote after an empty comment stays too.

Last paragraph.
"""


def test_comments_and_images_are_dropped_as_docutils_drops_them() -> None:
    from docutils import nodes
    from docutils.core import publish_doctree

    tree = publish_doctree(COMMENTS, settings_overrides={"report_level": 5, "halt_level": 5})
    for node in list(tree.findall(nodes.comment)):
        node.parent.remove(node)
    shown = [p.astext() for p in tree.findall(nodes.paragraph)]
    ours = [b.text for b in rst_blocks(COMMENTS)]
    assert ours == ["wadllib navigates HTTP resources.", ".. [1] A footnote stays.",
                    "A block quote after an empty comment stays too.", "Last paragraph."]
    assert [t.removeprefix(".. [1] ") for t in ours] == shown
