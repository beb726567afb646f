"""Early stopping: stop when the validation loss has not improved for ``patience`` epochs.

>>> stopper = EarlyStopping(patience=2)
>>> [stopper.update(v) for v in [1.0, 0.8, 0.9, 0.85]]
[False, False, False, True]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass
class EarlyStopping:
    patience: int = 5
    min_delta: float = 0.0
    best: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    epoch: int = -1

    def __post_init__(self) -> None:
        assert self.patience >= 1 and self.min_delta >= 0

    def update(self, value: float) -> bool:
        """Record this epoch's metric (lower is better); True means stop now."""
        self.epoch += 1
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    @property
    def improved(self) -> bool:
        return self.best_epoch == self.epoch

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)
