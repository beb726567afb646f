"""Release notes step back unless the question asks about changes.

A documentation folder as installed holds its release notes beside its manual: Python's
What's New pages and changelog, git's 485 RelNotes, every Debian package's NEWS and
changelog. They mention every feature in a line ("Added the --strip-components option"),
so they match a question's words about as well as the page that explains the feature, and
take a sixth of the top 10 over the whole Python tree (71 of 400 slots for the library
questions, 7 of them relevant). A question about how to do something wants the manual; one
about what changed, or in which version, wants the notes.

>>> is_release_notes("whatsnew/3.11.html"), is_release_notes("RelNotes/2.40.0.txt")
(True, True)
>>> is_release_notes("library/asyncio-task.html"), is_release_notes("changes-of-state.html")
(False, False)
>>> asks_about_changes("how do I make a virtual environment"), asks_about_changes("what changed in 3.11?")
(False, True)
>>> asks_about_changes("哪个版本开始支持 TaskGroup？")
True
"""

from __future__ import annotations

import re

# By the name of the file or of a folder on its path: whatsnew/3.11.html, changelog.Debian.gz,
# NEWS.gz, RelNotes/2.40.0.txt, CHANGES.md, release-notes.html.
_NOTES = re.compile(r"(?:^|/)(?:whatsnew|what-?s-?new|changelog|changes|news|relnotes|release-?notes)"
                    r"(?:/|(?:\.[^/]*|[-_]\d[^/]*)?$)", re.IGNORECASE)
_CHANGES = re.compile(r"\b(?:new|added|adds|changed?|changes|changelog|deprecated|removed|release[sd]?|"
                      r"versions?|since|upgrad\w*)\b|\d+\.\d+|新增|新版|变更|变化|改动|版本|弃用|移除|升级|发布",
                      re.IGNORECASE)


def is_release_notes(name: str) -> bool:
    return _NOTES.search(name) is not None


def asks_about_changes(question: str) -> bool:
    return _CHANGES.search(question) is not None
