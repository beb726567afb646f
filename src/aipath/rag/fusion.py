"""Rank fusion of several retrievers' result lists.

``rrf``: reciprocal-rank fusion, score = Σ w / (k + rank). Blind to score magnitudes, so a
weak retriever's confident-looking junk counts as much as a strong one's hits.

``weighted``: each list's scores are divided by that list's best score (so a retriever's
own confidence profile survives, unlike min-max which stretches a flat, uninformative
list to [0, 1]), then summed with weights. A chunk missing from a list gets 0 there.

>>> rrf([[(1, 9.0), (2, 5.0)], [(2, 0.8), (3, 0.7)]], k=60)[0][0]
2
>>> weighted([[(1, 9.0), (2, 3.0)], [(2, 0.9), (1, 0.3)]], [0.5, 0.5])[0]
(1, 0.6666666666666666)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

Ranking = list[tuple[int, float]]  # (chunk id, score), best first

FUSIONS = ("weighted", "rrf")


def rrf(rankings: Sequence[Ranking], k: int = 60,
        weights: Sequence[float] | None = None) -> Ranking:
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights):
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            fused[chunk_id] += weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def weighted(rankings: Sequence[Ranking], weights: Sequence[float]) -> Ranking:
    assert len(rankings) == len(weights)
    fused: dict[int, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights):
        if not ranking:
            continue
        best = max(score for _, score in ranking)
        if best <= 0:
            continue
        for chunk_id, score in ranking:
            fused[chunk_id] += weight * max(score, 0.0) / best
    return sorted(fused.items(), key=lambda item: -item[1])
