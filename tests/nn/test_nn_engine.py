"""The scalar autograd engine against torch.autograd on random expression graphs."""

import math
import random

import pytest
import torch

from aipath.nn.engine import Value
from aipath.nn.mlp import MLP

UNARY = ["relu", "tanh", "sigmoid", "exp"]


def _random_graph(seed: int, n_leaves: int = 4, n_ops: int = 25):
    """Build the same random expression from Values and from float64 torch tensors."""
    rng = random.Random(seed)
    leaves = [rng.uniform(-1.5, 1.5) for _ in range(n_leaves)]
    ours = [Value(v) for v in leaves]
    ref = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in leaves]
    nodes_o, nodes_t = list(ours), list(ref)
    for _ in range(n_ops):
        kind = rng.choice(["+", "*", "-", "/", "pow", "unary", "const"])
        i, j = rng.randrange(len(nodes_o)), rng.randrange(len(nodes_o))
        a, b, ta, tb = nodes_o[i], nodes_o[j], nodes_t[i], nodes_t[j]
        if kind == "+":
            o, t = a + b, ta + tb
        elif kind == "*":
            o, t = a * b, ta * tb
        elif kind == "-":
            o, t = a - b, ta - tb
        elif kind == "/":
            o, t = a / (b * b + 1.0), ta / (tb * tb + 1.0)
        elif kind == "pow":
            o, t = (a * a + 0.5) ** 1.5, (ta * ta + 0.5) ** 1.5
        elif kind == "const":
            c = rng.uniform(-2, 2)
            o, t = c * a + c, c * ta + c
        else:
            op = rng.choice(UNARY)
            if op == "exp":
                o, t = a.tanh().exp(), torch.exp(torch.tanh(ta))
            else:
                o, t = getattr(a, op)(), getattr(torch, op)(ta)
        nodes_o.append(o)
        nodes_t.append(t)
    out_o = nodes_o[-1] + nodes_o[-2].log() if nodes_o[-2].data > 0 else nodes_o[-1]
    out_t = nodes_t[-1] + torch.log(nodes_t[-2]) if nodes_o[-2].data > 0 else nodes_t[-1]
    return ours, ref, out_o, out_t


@pytest.mark.parametrize("seed", range(30))
def test_random_graphs_match_torch(seed):
    ours, ref, out_o, out_t = _random_graph(seed)
    out_o.backward()
    out_t.backward()
    assert math.isclose(out_o.data, out_t.item(), rel_tol=1e-12, abs_tol=1e-12)
    for v, t in zip(ours, ref):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert math.isclose(v.grad, expected, rel_tol=1e-9, abs_tol=1e-12)


def test_shared_subexpression_accumulates_gradient():
    x = Value(2.0)
    y = x * x * x + x  # dy/dx = 3x^2 + 1
    y.backward()
    assert x.grad == 13.0


def test_backward_twice_gives_same_gradients():
    x = Value(0.7)
    y = (x * 3).tanh()
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first


def test_mlp_gradients_match_torch():
    mlp = MLP(3, [4, 1], seed=1)
    xs = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]
    loss = sum((mlp(x)[0] - 1.0) ** 2 for x in xs)
    loss.backward()
    params = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True)
              for p in mlp.parameters()]
    it = iter(params)
    layers = [[(torch.stack([next(it) for _ in n.w]), next(it)) for n in layer]
              for layer in mlp.layers]
    total = 0
    for x in xs:
        h = torch.tensor(x, dtype=torch.float64)
        for li, layer in enumerate(layers):
            z = torch.stack([w @ h + b for w, b in layer])
            h = torch.tanh(z) if li < len(layers) - 1 else z
        total = total + (h[0] - 1.0) ** 2
    total.backward()
    assert math.isclose(loss.data, total.item(), rel_tol=1e-12)
    for p, t in zip(mlp.parameters(), params):
        assert math.isclose(p.grad, t.grad.item(), rel_tol=1e-9, abs_tol=1e-12)


def test_deep_chain_does_not_hit_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0
