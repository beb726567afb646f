"""What a lab hands back: a run summary with its artefacts, and a check against a reference.

A check is a list of named numbers, each with the bound it must meet, e.g. the largest
difference between our matrix product and NumPy's must be ``<= 1e-10``:

>>> Check("max |ours - numpy|", 3e-15, 1e-10).passed
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Check:
    """``value`` must be ``<= bound`` (``at_least=False``) or ``>= bound`` (``at_least=True``)."""

    name: str
    value: float
    bound: float
    at_least: bool = False

    @property
    def passed(self) -> bool:
        value = float(self.value)
        if not np.isfinite(value):
            return False
        return value >= self.bound if self.at_least else value <= self.bound

    def describe(self) -> str:
        op = ">=" if self.at_least else "<="
        return f"{self.name} = {self.value:.4g} (needs {op} {self.bound:.4g})"


def close(name: str, ours: object, reference: object, tol: float) -> Check:
    """Largest absolute difference between two arrays, bounded by ``tol``."""
    a, b = np.asarray(ours, dtype=float), np.asarray(reference, dtype=float)
    assert a.shape == b.shape, f"{name}: shapes differ {a.shape} vs {b.shape}"
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    return Check(f"max |diff| {name}", diff, tol)


def at_least(name: str, value: float, bound: float) -> Check:
    return Check(name, float(value), bound, at_least=True)


@dataclass(frozen=True)
class CheckResult:
    lab_id: str
    checks: tuple[Check, ...]

    def __post_init__(self) -> None:
        assert self.checks, f"{self.lab_id}: a check must compare at least one number"

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def numbers(self) -> dict[str, float]:
        return {c.name: float(c.value) for c in self.checks}


@dataclass(frozen=True)
class RunResult:
    """``summary`` is a few lines for the terminal; ``artefacts`` are the files written."""

    lab_id: str
    summary: str
    artefacts: tuple[Path, ...] = field(default_factory=tuple)
