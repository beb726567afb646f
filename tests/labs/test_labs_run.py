"""Every lab of weeks 1-4 runs in quick mode, writes its artefacts and passes its check."""

import pytest

from aipath.labs import registry
from aipath.labs.runner import execute

LABS = sorted(registry.LAB_MODULES, key=lambda i: (int(i[1]), int(i[3])))


@pytest.mark.parametrize("lab_id", LABS)
def test_lab_quick_run_and_check(lab_id, tmp_path):
    outcome = execute(lab_id, tmp_path / "out", quick=True, check=True, home=tmp_path / "home")
    assert outcome.run.artefacts, "a lab must produce artefacts"
    for path in outcome.run.artefacts:
        assert path.exists() and path.stat().st_size > 0, path
        assert path.is_relative_to(outcome.out_dir), path
    failed = [c.describe() for c in outcome.check.checks if not c.passed]
    assert outcome.check.passed, failed
