"""Learning-rate schedules as plain functions of the step, plus a driver that applies them.

>>> [round(cosine(t, 1.0, total=4), 3) for t in range(5)]
[1.0, 0.854, 0.5, 0.146, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable

from aipath.nn.optim import Optimizer


def constant(step: int, base: float) -> float:
    return base


def step_decay(step: int, base: float, every: int, gamma: float = 0.1) -> float:
    """Multiply by ``gamma`` every ``every`` steps (torch's StepLR)."""
    return base * gamma ** (step // every)


def exponential(step: int, base: float, gamma: float) -> float:
    return base * gamma**step


def cosine(step: int, base: float, total: int, floor: float = 0.0) -> float:
    """Half a cosine from ``base`` down to ``floor`` over ``total`` steps."""
    t = min(step, total)
    return floor + (base - floor) * (1 + math.cos(math.pi * t / total)) / 2


def linear_warmup(step: int, base: float, warmup: int, start_factor: float = 0.1) -> float:
    """Ramp linearly from ``start_factor * base`` to ``base`` over ``warmup`` steps."""
    t = min(step, warmup)
    return base * (start_factor + (1 - start_factor) * t / warmup)


def warmup_cosine(step: int, base: float, warmup: int, total: int) -> float:
    """Warm up, then cosine-decay: the usual Transformer recipe."""
    if step < warmup:
        return linear_warmup(step, base, warmup)
    return cosine(step - warmup, base, total - warmup)


class Scheduler:
    """Sets ``optimizer.lr = schedule(step, base_lr)`` each time :meth:`step` is called."""

    def __init__(self, optimizer: Optimizer, schedule: Callable[..., float], **kwargs: float):
        self.optimizer, self.schedule, self.kwargs = optimizer, schedule, kwargs
        self.base, self.t = optimizer.lr, 0
        self.optimizer.lr = schedule(0, self.base, **kwargs)

    def step(self) -> float:
        self.t += 1
        self.optimizer.lr = self.schedule(self.t, self.base, **self.kwargs)
        return self.optimizer.lr
