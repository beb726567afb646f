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
>>> asks_about_changes("how do I undo my last commit but keep the changes")
False
>>> asks_about_changes("what's new in 3.11?"), asks_about_changes("is asyncio.timeout available since python 3.10?")
(True, True)
>>> asks_about_changes("哪个版本开始支持 TaskGroup？")
True
"""

from __future__ import annotations

import re

# By the name of the file or of a folder on its path: whatsnew/3.11.html, changelog.Debian.gz,
# NEWS.gz, RelNotes/2.40.0.txt, CHANGES.md, release-notes.html.
_NOTES = re.compile(r"(?:^|/)(?:whatsnew|what-?s-?new|changelog|changes|news|relnotes|release-?notes)"
                    r"(?:/|(?:\.[^/]*|[-_]\d[^/]*)?$)", re.IGNORECASE)
# A question about the software's history, not one that merely says "new file" or "changes"
# (git's how-to questions are full of both): what's new, release notes, deprecation, which
# version, a version number after "in", "since", "python", "version"…
_CHANGES = re.compile(
    r"what'?s\s+new|release\s+notes?|change\s?log|\bnews\s+file|deprecat|"
    r"\b(?:which|what|since|from|until|before|after)\s+(?:\w+\s+)?versions?\b|"
    r"\b(?:added|introduced|removed|changed|new)\s+in\s+(?:\w+\s+)?(?:version\s+)?v?\d|"
    r"\b(?:in|since|before|after|from|until|version|python|git|v)\s*\d+\.\d+|"
    r"新特性|新功能|更新日志|变更日志|发行说明|发布说明|版本说明|哪个版本|什么版本|哪一版|从\S{0,8}版本|弃用|废弃",
    re.IGNORECASE)


def is_release_notes(name: str) -> bool:
    return _NOTES.search(name) is not None


def asks_about_changes(question: str) -> bool:
    return _CHANGES.search(question) is not None
