"""Shared plumbing for lab artefacts: PNG figures, Markdown reports, the written notes.

Every figure goes through :func:`figure` so all plots get a title, labelled axes and a
legend where there are labelled lines, and are written with the non-interactive Agg
backend (labs run in terminals and CI, never open windows).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NOTES_DIR = Path(__file__).resolve().parents[3] / "docs" / "notes"


@contextmanager
def figure(path: Path, title: str, ncols: int = 1, nrows: int = 1,
           size: tuple[float, float] | None = None) -> Iterator[object]:
    """Yield the axes of a new figure; on exit add legends where labelled, save, close."""
    size = size or (5.5 * ncols, 4.2 * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    try:
        yield axes[0, 0] if axes.size == 1 else axes.ravel()
        for ax in axes.ravel():
            if ax.get_legend_handles_labels()[1] and ax.get_legend() is None:
                ax.legend(fontsize=8)
        fig.suptitle(title)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def label(ax: object, title: str, xlabel: str, ylabel: str) -> None:
    """Set an axes' title and axis labels in one line."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; floats are shown with 4 significant digits."""
    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(path: Path, title: str, *sections: str) -> Path:
    """A short Markdown report: a title, then the sections separated by blank lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n" + "\n\n".join(s.strip() for s in sections) + "\n",
                    encoding="utf-8")
    return path


def copy_note(name: str, out_dir: Path) -> Path | None:
    """Copy ``docs/notes/<name>`` next to the artefacts; None outside a source checkout."""
    source = NOTES_DIR / name
    if not source.exists():
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, out_dir / name))
