"""``aipath plan`` and ``aipath lab``: the 12-week plan, and running its labs.

Heavy imports (the labs pull in torch, sklearn, matplotlib) happen inside the commands,
so ``aipath --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def _status(lab_id: str, entries: dict) -> str:
    from aipath.labs import registry

    if not registry.has_lab(lab_id):
        return "[dim]later[/dim]"
    entry = entries.get(lab_id)
    if entry is None or not entry.done:
        return "todo"
    mark = {True: " [green]check ✓[/green]", False: " [red]check ✗[/red]", None: ""}
    return f"[green]done[/green] {entry.date}{mark[entry.check]}"


def plan(week: Optional[int] = typer.Option(None, "--week", "-w", help="Show one week's days."),
         english: bool = typer.Option(False, "--en", help="English titles instead of Chinese.")
         ) -> None:
    """The 12-week plan with your progress; `--week N` lists that week's days."""
    from aipath.labs import plan as plan_mod
    from aipath.labs import progress, registry

    entries = progress.load()
    if week is None:
        table = Table(title="aipath — 12-week plan / 12 周学习计划")
        for col in ("week", "title", "labs", "done", "checked ✓"):
            table.add_column(col)
        for w in plan_mod.PLAN:
            ids = [d.lab_id for d in w.days]
            ready = [i for i in ids if registry.has_lab(i)]
            done = sum(1 for i in ready if entries.get(i) and entries[i].done)
            ok = sum(1 for i in ready if entries.get(i) and entries[i].check)
            title = w.title_en if english else f"{w.title_zh}\n[dim]{w.title_en}[/dim]"
            if ready:
                table.add_row(str(w.number), title, f"{len(ready)}/7", f"{done}/{len(ready)}",
                              str(ok))
            else:
                table.add_row(str(w.number), title, "[dim]arrives later[/dim]", "–", "–")
        console.print(table)
        console.print("Details: [bold]aipath plan --week N[/bold]; run one: "
                      "[bold]aipath lab w1d1[/bold]")
        return
    try:
        w = plan_mod.week(week)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    table = Table(title=f"Week {w.number}: {w.title_zh} / {w.title_en}", show_lines=True)
    for col in ("day", "task", "status", "command"):
        table.add_column(col, overflow="fold")
    for d in w.days:
        task = (f"[bold]{d.title_en}[/bold]: {d.task_en}" if english else
                f"[bold]{d.title_zh}[/bold]：{d.task_zh}\n[dim]{d.title_en}: {d.task_en}[/dim]")
        command = (f"aipath lab {d.lab_id}" if registry.has_lab(d.lab_id)
                   else registry.pending_reason(d.lab_id))
        table.add_row(d.lab_id, task, _status(d.lab_id, entries), command)
    console.print(table)


def _run_one(lab_id: str, out: Path, quick: bool, check: bool) -> bool:
    from aipath.labs import plan as plan_mod
    from aipath.labs import registry, runner

    d = plan_mod.day(lab_id)
    console.rule(f"{d.lab_id} · {d.title_zh} · {d.title_en}")
    if not registry.has_lab(d.lab_id):
        console.print(f"[yellow]{d.lab_id}: no lab yet — {registry.pending_reason(d.lab_id)}[/yellow]")
        return True
    with console.status(f"running {d.lab_id}{' (quick)' if quick else ''}…"):
        outcome = runner.execute(d.lab_id, out, quick=quick, check=check)
    console.print(outcome.run.summary)
    console.print(f"artefacts in [bold]{outcome.out_dir}/[/bold]:")
    for path in outcome.run.artefacts:
        console.print(f"  • {path}")
    if outcome.check is None:
        return True
    table = Table(title=f"check {d.lab_id} against the reference")
    for col in ("quantity", "value", "bound", "ok"):
        table.add_column(col)
    for c in outcome.check.checks:
        bound = (">= " if c.at_least else "<= ") + f"{c.bound:.3g}"
        table.add_row(c.name, f"{c.value:.4g}", bound, "[green]pass[/green]" if c.passed
                      else "[red]FAIL[/red]")
    console.print(table)
    verdict = "[green]PASS[/green]" if outcome.check.passed else "[red]FAIL[/red]"
    console.print(f"{d.lab_id}: {verdict}")
    return outcome.check.passed


def lab(lab_id: Optional[str] = typer.Argument(None, help="Lab id such as w3d3."),
        check: bool = typer.Option(False, "--check", help="Verify against the reference."),
        all_labs: bool = typer.Option(False, "--all", help="Run every lab of --week."),
        week: Optional[int] = typer.Option(None, "--week", "-w", help="Week (1-12) whose labs --all runs."),
        quick: bool = typer.Option(False, "--quick", help="Small sizes (seconds, not a minute)."),
        out: Path = typer.Option(Path("aipath-out"), "--out", help="Artefact root directory."),
        ) -> None:
    """Run a day's lab (aipath lab w3d3, or --all --week 3): artefacts go to
    ./aipath-out/DAY/; `--check` compares them to a reference implementation."""
    from aipath.labs import plan as plan_mod

    if all_labs == (lab_id is not None):
        raise typer.BadParameter("give a lab id (aipath lab w1d1) or --all --week N")
    if all_labs and week is None:
        raise typer.BadParameter("--all needs --week N")
    try:
        ids = [d.lab_id for d in plan_mod.week(week).days] if all_labs else [
            plan_mod.day(lab_id).lab_id]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    results = [_run_one(i, out, quick, check) for i in ids]
    if not all(results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `plan` and `lab` to the main app."""
    app.command("plan")(plan)
    app.command("lab")(lab)
