"""``aipath bench …``: benchmarks, each measured side by side with its peer in one run.

Other areas add their own benchmark to ``bench_app`` from their CLI module.
"""

from __future__ import annotations

import typer

bench_app = typer.Typer(
    help="Benchmarks (not tests): speed and memory side by side with a peer, as ratios.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
