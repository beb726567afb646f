"""Minimal cost-complexity pruning (Breiman's weakest link), as in CART.

The cost of a tree is ``R_alpha(T) = R(T) + alpha |leaves(T)|`` with ``R`` the
sample-weighted leaf impurity. Collapsing internal node ``t`` into a leaf is worth it once
``alpha >= g(t) = (R(t) - R(T_t)) / (|leaves(T_t)| - 1)``. Repeatedly collapsing the node
with the smallest ``g`` gives the pruning path: increasing alphas, growing impurity.
"""

from __future__ import annotations

import copy

import numpy as np

from aipath.ml.tree import DecisionTree


def _subtree_cost(tree: DecisionTree, i: int, total: float) -> tuple[float, int]:
    """(R(T_t), number of leaves) of the subtree rooted at node ``i``."""
    node = tree.nodes[i]
    if node.is_leaf:
        return node.n / total * node.impurity, 1
    rl, nl = _subtree_cost(tree, node.left, total)
    rr, nr = _subtree_cost(tree, node.right, total)
    return rl + rr, nl + nr


def _weakest_link(tree: DecisionTree) -> tuple[float, int] | None:
    total = tree.nodes[0].n
    best: tuple[float, int] | None = None
    for i in tree.reachable():
        node = tree.nodes[i]
        if node.is_leaf:
            continue
        r_sub, leaves = _subtree_cost(tree, i, total)
        g = (node.n / total * node.impurity - r_sub) / (leaves - 1)
        if best is None or g < best[0]:
            best = (g, i)
    return best


def _collapse(tree: DecisionTree, i: int) -> None:
    tree.nodes[i].left = tree.nodes[i].right = -1


def pruning_path(tree: DecisionTree) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, total leaf impurities) as each weakest link is cut, down to the root."""
    work = copy.deepcopy(tree)
    total = work.nodes[0].n
    alphas, impurities = [0.0], [_subtree_cost(work, 0, total)[0]]
    while (link := _weakest_link(work)) is not None:
        g, i = link
        _collapse(work, i)
        alphas.append(max(g, 0.0))
        impurities.append(_subtree_cost(work, 0, total)[0])
    return np.array(alphas), np.array(impurities)


def prune(tree: DecisionTree, ccp_alpha: float) -> DecisionTree:
    """A copy of ``tree`` with every weakest link whose ``g <= ccp_alpha`` collapsed."""
    assert ccp_alpha >= 0
    work = copy.deepcopy(tree)
    while (link := _weakest_link(work)) is not None and link[0] <= ccp_alpha:
        _collapse(work, link[1])
    return work
