"""The plan as typed objects: 12 weeks x 7 days, each day addressable as ``wXdY``.

>>> day("w3d3").title_en
'Optimisers'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aipath.labs.plan_data import WEEKS

_LAB_ID = re.compile(r"^w(\d{1,2})d([1-7])$")


@dataclass(frozen=True)
class Day:
    """One day of the plan; ``task_*`` is the exercise or output the plan asks for."""

    week: int
    day: int
    title_zh: str
    task_zh: str
    title_en: str
    task_en: str

    @property
    def lab_id(self) -> str:
        return f"w{self.week}d{self.day}"


@dataclass(frozen=True)
class Week:
    number: int
    title_zh: str
    title_en: str
    days: tuple[Day, ...]

    def __post_init__(self) -> None:
        assert len(self.days) == 7, f"week {self.number} has {len(self.days)} days"


def _build() -> tuple[Week, ...]:
    weeks = []
    for w, (title_zh, title_en, days) in enumerate(WEEKS, start=1):
        built = tuple(Day(w, d, *fields) for d, fields in enumerate(days, start=1))
        weeks.append(Week(w, title_zh, title_en, built))
    return tuple(weeks)


PLAN: tuple[Week, ...] = _build()


def week(number: int) -> Week:
    """The week numbered ``number`` (1-based); ValueError outside 1..12."""
    if not 1 <= number <= len(PLAN):
        raise ValueError(f"week must be between 1 and {len(PLAN)}, got {number}")
    return PLAN[number - 1]


def parse_lab_id(lab_id: str) -> tuple[int, int]:
    """``"w3d3"`` -> ``(3, 3)``; ValueError with the expected form otherwise."""
    match = _LAB_ID.match(lab_id.strip().lower())
    if not match or not 1 <= int(match.group(1)) <= len(PLAN):
        raise ValueError(f"not a lab id: {lab_id!r} (expected wXdY, X in 1..12, Y in 1..7)")
    return int(match.group(1)), int(match.group(2))


def day(lab_id: str) -> Day:
    """The day for a lab id such as ``"w1d2"``."""
    w, d = parse_lab_id(lab_id)
    return PLAN[w - 1].days[d - 1]


def all_days() -> tuple[Day, ...]:
    return tuple(d for w in PLAN for d in w.days)
