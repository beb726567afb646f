"""Training curves to TensorBoard event files, a JSON history and Matplotlib PNGs.

``tensorboard --logdir <out>/tb`` shows the same numbers as ``curves.png``.
"""

from __future__ import annotations

import json
from pathlib import Path


class MetricLogger:
    """Log scalars per epoch; TensorBoard's writer is created lazily (it is slow to import)."""

    def __init__(self, out_dir: Path | None) -> None:
        self.out_dir, self._writer = out_dir, None
        self.history: list[dict[str, float]] = []

    def log(self, epoch: int, metrics: dict[str, float]) -> None:
        self.history.append({"epoch": epoch, **metrics})
        if self.out_dir is None:
            return
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(log_dir=str(self.out_dir / "tb"))
        for name, value in metrics.items():
            self._writer.add_scalar(name.replace("_", "/", 1), value, epoch)
        self._writer.flush()
        (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=1))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_event_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """All scalars in a TensorBoard log directory: ``{tag: [(step, value), ...]}``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def plot_curves(history: list[dict[str, float]], path: Path, title: str) -> Path:
    """Loss (left) and accuracy (right) per epoch for train and val."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "acc")):
        for split in ("train", "val"):
            key = f"{split}_{metric}"
            if key in history[0]:
                ax.plot(epochs, [h[key] for h in history], marker=".", label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
