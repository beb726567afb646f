"""The plan data, the registry, progress storage and the CLI."""

import json

import pytest
from typer.testing import CliRunner

from aipath.cli import app
from aipath.labs import plan, progress, registry
from aipath.labs.plan_data import WEEKS
from aipath.labs.result import Check, CheckResult, close


def test_plan_has_84_days_with_both_languages():
    days = plan.all_days()
    assert len(plan.PLAN) == 12 and len(days) == 84
    assert len({d.lab_id for d in days}) == 84
    for d in days:
        assert d.title_zh and d.task_zh and d.title_en and d.task_en
        assert plan.day(d.lab_id) is d


def test_plan_follows_the_source_text():
    source = (__import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "seed"
              / "learning-path.md")
    if not source.exists():
        pytest.skip("the learner's source plan is not next to this checkout")
    text = source.read_text(encoding="utf-8")
    for w, (title_zh, _, days) in enumerate(WEEKS, start=1):
        assert title_zh in text, f"week {w}"
        for title, task, *_ in days:
            if w != 8:  # week 8 is cut off in the source; its days complete it
                assert f"**{title}**" in text, (w, title)


def test_week_8_is_completed():
    titles = " ".join(d.title_en + d.task_en for d in plan.week(8).days)
    for topic in ("BPE", "LoRA", "QLoRA", "peft", "instruction", "merge"):
        assert topic.lower() in titles.lower()


@pytest.mark.parametrize("bad", ["w0d1", "w13d1", "w1d8", "x1d1", "w1"])
def test_bad_lab_ids_are_rejected(bad):
    with pytest.raises(ValueError):
        plan.parse_lab_id(bad)


def test_registry_covers_weeks_1_to_4_and_defers_the_rest():
    for d in plan.all_days():
        assert registry.has_lab(d.lab_id) == (d.week <= 4)
    assert "aipath.llm" in registry.pending_reason("w5d1")
    with pytest.raises(LookupError, match="arrives with"):
        registry.load("w9d1")


def test_progress_round_trip(tmp_path):
    assert progress.load(tmp_path) == {}
    progress.record_run("w1d1", tmp_path)
    progress.record_check("w1d2", False, tmp_path)
    progress.record_check("w1d2", True, tmp_path)
    entries = progress.load(tmp_path)
    assert entries["w1d1"].done and entries["w1d1"].check is None
    assert entries["w1d2"].done and entries["w1d2"].check is True
    raw = json.loads(progress.progress_path(tmp_path).read_text())
    assert set(raw) == {"w1d1", "w1d2"}


def test_check_result_logic():
    assert Check("a", 0.5, 1.0).passed and not Check("a", 2.0, 1.0).passed
    assert Check("b", 2.0, 1.0, at_least=True).passed
    assert not Check("nan", float("nan"), 1.0).passed
    assert close("x", [1.0, 2.0], [1.0, 2.5], 0.4).passed is False
    with pytest.raises(AssertionError):
        CheckResult("w1d1", ())


def test_cli_plan_and_lab(tmp_path, monkeypatch):
    monkeypatch.setenv("AIPATH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    result = runner.invoke(app, ["plan"])
    assert result.exit_code == 0, result.output
    assert "12 周" in result.output and "arrives later" in result.output
    result = runner.invoke(app, ["plan", "--week", "8"])
    assert result.exit_code == 0 and "LoRA" in result.output and "arrives with" in result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["lab", "w1d1", "--check", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and (out / "w1d1" / "matmul_time.png").exists()
    assert progress.load(tmp_path / "home")["w1d1"].check is True
    result = runner.invoke(app, ["lab", "w9d2", "--out", str(out)])
    assert result.exit_code == 0 and "arrives with" in result.output
    result = runner.invoke(app, ["lab", "--all", "--week", "9", "--out", str(out)])
    assert result.exit_code == 0 and result.output.count("arrives with") == 7
    assert runner.invoke(app, ["lab", "w99d1"]).exit_code != 0
    assert runner.invoke(app, ["lab", "--all"]).exit_code != 0
