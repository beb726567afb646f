"""The training scaffold: train / validate each epoch, early stopping, checkpoints, logs.

``fit()`` runs until ``epochs`` or early stopping, writing ``last.pt`` every epoch and
``best.pt`` when validation loss improves; at the end it reloads the best weights and
scores the test set. ``fit(resume=True)`` continues from ``last.pt`` and, because the
loader order, optimiser state and RNG are all restored, ends with the same weights as an
uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from aipath.nn.checkpoint import load_checkpoint, save_checkpoint
from aipath.nn.config import TrainConfig
from aipath.nn.data import DataLoader
from aipath.nn.early_stopping import EarlyStopping
from aipath.nn.optim import SGD, Adam, Optimizer
from aipath.nn.schedules import Scheduler, constant, cosine
from aipath.nn.tracking import MetricLogger


def make_optimizer(model: nn.Module, config: TrainConfig) -> Optimizer:
    if config.optimizer == "sgd":
        return SGD(model.parameters(), config.lr, config.momentum, config.weight_decay)
    return Adam(model.parameters(), config.lr, weight_decay=config.weight_decay,
                decoupled=config.optimizer == "adamw")


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader) -> dict[str, float]:
    """Mean loss and accuracy in eval mode (dropout off, batch norm on running stats)."""
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        n += len(y)
    return {"loss": total_loss / n, "acc": correct / n}


@dataclass
class Trainer:
    model: nn.Module
    config: TrainConfig
    train_data: Dataset
    val_data: Dataset
    test_data: Dataset | None = None
    out_dir: Path | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        torch.manual_seed(self.config.seed)
        self.optimizer = make_optimizer(self.model, self.config)
        schedule = (cosine, {"total": self.config.epochs}) if self.config.schedule == "cosine" \
            else (constant, {})
        self.scheduler = Scheduler(self.optimizer, schedule[0], **schedule[1])
        self.stopper = EarlyStopping(self.config.patience)
        self.train_loader = DataLoader(self.train_data, self.config.batch_size, shuffle=True,
                                       seed=self.config.seed)
        self.logger = MetricLogger(self.out_dir)
        self.start_epoch = 0

    def _loader(self, data: Dataset) -> DataLoader:
        return DataLoader(data, batch_size=256)

    def train_epoch(self) -> dict[str, float]:
        self.model.train()
        total, correct, n = 0.0, 0, 0
        for x, y in self.train_loader:
            logits = self.model(x)
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
            n += len(y)
        return {"loss": total / n, "acc": correct / n}

    def _save(self, name: str, epoch: int) -> None:
        if self.out_dir is not None:
            save_checkpoint(self.out_dir / name, self.model, self.optimizer, epoch,
                            history=self.history, stopper=self.stopper.state_dict(),
                            scheduler_t=self.scheduler.t, config=self.config)

    def resume(self) -> None:
        assert self.out_dir is not None, "resume needs out_dir"
        payload = load_checkpoint(self.out_dir / "last.pt", self.model, self.optimizer)
        self.history = list(payload["history"])
        self.logger.history = list(self.history)
        self.stopper.load_state_dict(payload["stopper"])
        self.scheduler.t = payload["scheduler_t"]
        self.start_epoch = payload["epoch"] + 1
        self.train_loader.epoch = self.start_epoch

    def fit(self, resume: bool = False, stop_after: int | None = None) -> list[dict[str, float]]:
        """Train; ``stop_after`` simulates an interruption after that many epochs."""
        if resume:
            self.resume()
        val_loader = self._loader(self.val_data)
        for epoch in range(self.start_epoch, self.config.epochs):
            train = self.train_epoch()
            val = evaluate(self.model, val_loader)
            metrics = {"train_loss": train["loss"], "train_acc": train["acc"],
                       "val_loss": val["loss"], "val_acc": val["acc"], "lr": self.optimizer.lr}
            self.history.append({"epoch": epoch, **metrics})
            self.logger.log(epoch, metrics)
            self.scheduler.step()
            stop = self.stopper.update(val["loss"])
            if self.stopper.improved:
                self._save("best.pt", epoch)
            self._save("last.pt", epoch)
            if stop or (stop_after is not None and epoch + 1 >= stop_after):
                break
        self.logger.close()
        return self.history

    def test(self) -> dict[str, float]:
        """Reload the best checkpoint (if saved) and score the test set."""
        assert self.test_data is not None, "no test set"
        if self.out_dir is not None and (self.out_dir / "best.pt").exists():
            load_checkpoint(self.out_dir / "best.pt", self.model)
        return evaluate(self.model, self._loader(self.test_data))
