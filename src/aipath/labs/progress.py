"""Lab progress (done, when, last check result) as JSON under the data directory.

The file is ``data_home()/labs/progress.json``, e.g.
``{"w1d1": {"done": true, "date": "2026-11-29", "check": true, "checked": "2026-11-29"}}``.
Writes go through a temporary file and a rename, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from aipath.config import data_home


@dataclass
class Entry:
    done: bool = False
    date: str | None = None
    check: bool | None = None
    checked: str | None = None


def progress_path(home: str | Path | None = None) -> Path:
    return data_home(home) / "labs" / "progress.json"


def load(home: str | Path | None = None) -> dict[str, Entry]:
    path = progress_path(home)
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: Entry(**v) for k, v in raw.items()}


def _save(entries: dict[str, Entry], home: str | Path | None) -> None:
    path = progress_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    payload = {k: asdict(v) for k, v in sorted(entries.items())}
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def record_run(lab_id: str, home: str | Path | None = None) -> Entry:
    """Mark a lab done today."""
    entries = load(home)
    entry = entries.setdefault(lab_id, Entry())
    entry.done, entry.date = True, date.today().isoformat()
    _save(entries, home)
    return entry


def record_check(lab_id: str, passed: bool, home: str | Path | None = None) -> Entry:
    """Store the latest check result (a passing check also marks the lab done)."""
    entries = load(home)
    entry = entries.setdefault(lab_id, Entry())
    entry.check, entry.checked = passed, date.today().isoformat()
    if passed and not entry.done:
        entry.done, entry.date = True, entry.checked
    _save(entries, home)
    return entry
