"""Neurons, layers and an MLP on top of the scalar :mod:`aipath.nn.engine`.

A neuron computes ``act(w . x + b)``; a layer is a list of neurons; an MLP stacks layers.
Slow (one Python object per number) but every gradient can be traced by hand.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from aipath.nn.engine import Value, total


class Neuron:
    def __init__(self, n_in: int, act: str, rng: random.Random) -> None:
        assert act in ("relu", "tanh", "linear")
        self.w = [Value(rng.uniform(-1, 1) / n_in**0.5) for _ in range(n_in)]
        self.b = Value(0.0)
        self.act = act

    def __call__(self, x: Sequence[Value | float]) -> Value:
        z = total(wi * xi for wi, xi in zip(self.w, x)) + self.b
        return z if self.act == "linear" else getattr(z, self.act)()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class MLP:
    """``MLP(2, [8, 8, 1])``: two inputs, two hidden tanh layers of 8, one linear output."""

    def __init__(self, n_in: int, sizes: Sequence[int], act: str = "tanh", seed: int = 0) -> None:
        rng = random.Random(seed)
        dims = [n_in, *sizes]
        self.layers = [[Neuron(dims[i], act if i < len(sizes) - 1 else "linear", rng)
                        for _ in range(dims[i + 1])] for i in range(len(sizes))]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        out: Sequence[Value | float] = x
        for layer in self.layers:
            out = [neuron(out) for neuron in layer]
        return list(out)

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for n in layer for p in n.parameters()]
