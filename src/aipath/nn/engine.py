"""A scalar reverse-mode autograd engine, in the spirit of micrograd.

Every :class:`Value` remembers the values it was made from and how to push its gradient
back to them (the chain rule, one local derivative at a time). ``backward()`` visits the
graph in reverse topological order so each node's gradient is complete before it is used.

>>> x = Value(3.0); y = x * x + 2 * x; y.backward(); x.grad   # dy/dx = 2x + 2
8.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable


class Value:
    __slots__ = ("data", "grad", "_parents", "_backward", "op")

    def __init__(self, data: float, parents: tuple["Value", ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._backward: Callable[[], None] = lambda: None
        self.op = op

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def lift(other: "Value | float") -> "Value":
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other: "Value | float") -> "Value":
        other = Value.lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def backward() -> None:
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other: "Value | float") -> "Value":
        other = Value.lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, exponent: float) -> "Value":
        assert isinstance(exponent, (int, float)), "only constant exponents"
        out = Value(self.data**exponent, (self,), f"**{exponent}")

        def backward() -> None:
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out._backward = backward
        return out

    def _unary(self, data: float, local_grad: float, op: str) -> "Value":
        out = Value(data, (self,), op)

        def backward() -> None:
            self.grad += local_grad * out.grad
        out._backward = backward
        return out

    def relu(self) -> "Value":
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        return self._unary(t, 1 - t * t, "tanh")

    def sigmoid(self) -> "Value":
        s = 1 / (1 + math.exp(-self.data)) if self.data >= 0 else \
            math.exp(self.data) / (1 + math.exp(self.data))
        return self._unary(s, s * (1 - s), "sigmoid")

    def exp(self) -> "Value":
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> "Value":
        assert self.data > 0, "log of a non-positive value"
        return self._unary(math.log(self.data), 1 / self.data, "log")

    def __neg__(self) -> "Value":
        return self * -1

    def __sub__(self, other: "Value | float") -> "Value":
        return self + (-Value.lift(other))

    def __truediv__(self, other: "Value | float") -> "Value":
        return self * Value.lift(other) ** -1

    def __radd__(self, other: float) -> "Value":
        return self + other

    def __rmul__(self, other: float) -> "Value":
        return self * other

    def __rsub__(self, other: float) -> "Value":
        return Value.lift(other) - self

    def __rtruediv__(self, other: float) -> "Value":
        return Value.lift(other) / self

    def topological_order(self) -> list["Value"]:
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # iterative DFS: deep graphs must not hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents)
        return order

    def backward(self) -> None:
        """Fill ``.grad`` of every ancestor with d(self)/d(ancestor)."""
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def total(values: Iterable[Value]) -> Value:
    """Sum of values (Python's ``sum`` would start from the int 0, which also works)."""
    out = Value(0.0)
    for v in values:
        out = out + v
    return out
