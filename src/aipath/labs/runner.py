"""Run a lab (artefacts into ``out_root/<lab_id>``) and/or its check, recording progress."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from aipath.labs import progress, registry
from aipath.labs.result import CheckResult, RunResult

DEFAULT_OUT = Path("aipath-out")


@dataclass(frozen=True)
class Outcome:
    run: RunResult | None
    check: CheckResult | None
    out_dir: Path


def limit_threads() -> None:
    """Labs train tiny models: one thread each (``AIPATH_LAB_THREADS`` to change).

    On a busy machine, PyTorch's default of one thread per core makes these small
    workloads tens of times slower (threads spin waiting for each other).
    """
    threads = os.environ.get("AIPATH_LAB_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", threads)  # read when torch is first imported
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


def execute(lab_id: str, out_root: Path = DEFAULT_OUT, quick: bool = False,
            check: bool = False, home: str | Path | None = None) -> Outcome:
    """Run the lab; with ``check`` also run its verification. Progress is stored either way."""
    lab_id = lab_id.lower()
    limit_threads()
    module = registry.load(lab_id)
    out_dir = out_root / lab_id
    out_dir.mkdir(parents=True, exist_ok=True)
    run = module.run(out_dir, quick=quick)
    assert run.lab_id == lab_id, f"{module.__name__} reports {run.lab_id}"
    progress.record_run(lab_id, home)
    verdict = None
    if check:
        verdict = module.check(quick=quick)
        progress.record_check(lab_id, verdict.passed, home)
    return Outcome(run, verdict, out_dir)
