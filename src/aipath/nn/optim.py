"""SGD (with momentum / Nesterov), Adam and AdamW written out by hand, on torch tensors.

They update ``p.data`` from ``p.grad`` exactly as the formulas read, so they can drive any
``torch.nn.Module`` and be checked step for step against ``torch.optim``.

Adam, for gradient ``g`` at step ``t``: ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
``p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``. The bias corrections undo
the zero initialisation of ``m`` and ``v``, which would otherwise shrink early steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class Optimizer:
    def __init__(self, params: Iterable[torch.Tensor], lr: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        assert self.params, "no trainable parameters"
        assert lr > 0
        self.lr = lr
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _grads(self) -> Iterable[tuple[int, torch.Tensor, torch.Tensor]]:
        for i, p in enumerate(self.params):
            if p.grad is not None:
                yield i, p, p.grad

    def state_dict(self) -> dict:
        return {"lr": self.lr, "state": {k: dict(v) for k, v in self.state.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        self.state = {int(k): dict(v) for k, v in state["state"].items()}


class SGD(Optimizer):
    """``p -= lr * buf`` with ``buf = momentum * buf + g`` (plain SGD when momentum is 0)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr)
        assert 0 <= momentum < 1 and weight_decay >= 0
        assert not nesterov or momentum > 0, "Nesterov needs momentum"
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov

    @torch.no_grad()
    def step(self) -> None:
        for i, p, g in self._grads():
            g = g + self.weight_decay * p if self.weight_decay else g
            if self.momentum:
                state = self.state.setdefault(i, {})
                buf = state.get("buf")
                buf = g.clone() if buf is None else buf.mul_(self.momentum).add_(g)
                state["buf"] = buf
                g = g + self.momentum * buf if self.nesterov else buf
            p.sub_(self.lr * g)


class Adam(Optimizer):
    """Adam; ``decoupled=True`` gives AdamW (decay the weights directly, not via ``g``)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False) -> None:
        super().__init__(params, lr)
        assert all(0 <= b < 1 for b in betas) and eps > 0 and weight_decay >= 0
        self.betas, self.eps = betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        for i, p, g in self._grads():
            if self.decoupled:
                p.mul_(1 - self.lr * self.weight_decay)
            elif self.weight_decay:
                g = g + self.weight_decay * p
            state = self.state.setdefault(i, {"t": torch.tensor(0.0),
                                              "m": torch.zeros_like(p), "v": torch.zeros_like(p)})
            state["t"] += 1
            t = float(state["t"])
            state["m"].mul_(b1).add_((1 - b1) * g)
            state["v"].mul_(b2).add_((1 - b2) * g * g)
            step_size = self.lr / (1 - b1**t)
            denom = state["v"].sqrt() / math.sqrt(1 - b2**t) + self.eps
            p.sub_(step_size * state["m"] / denom)
