"""Checkpoints: everything needed to continue training as if never interrupted.

That is more than the weights: the optimiser's moments, the epoch, the history, the early
stopping counters and the random-number state (dropout draws from it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


def save_checkpoint(path: Path, model: nn.Module, optimizer: Any, epoch: int,
                    **extra: Any) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves a torn checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "epoch": epoch, "torch_rng": torch.get_rng_state(), **extra}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: Path, model: nn.Module, optimizer: Any | None = None) -> dict:
    """Restore model (and optimiser, RNG) in place; return the whole payload."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["torch_rng"])
    return payload
