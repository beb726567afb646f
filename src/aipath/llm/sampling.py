"""Choosing the next token from logits: repetition penalty, temperature, top-k, top-p.

Applied in ``transformers``' order. Temperature divides the logits (below 1 sharpens,
above 1 flattens); top-k keeps the k best tokens; top-p keeps the smallest set of best
tokens whose probabilities add up to ``p`` (nucleus sampling); the repetition penalty
makes tokens already in the context less likely (CTRL's rule: divide positive logits,
multiply negative ones). Temperature 0 means greedy: always the argmax (the first largest
index, as ``torch.argmax``; float32 rows take ``row_ops_kernel``'s C++ pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from aipath.llm.row_ops_kernel import argmax_rows


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens and when to stop."""

    max_tokens: int = 256
    temperature: float = 0.0  # 0: greedy
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    repetition_penalty: float = 1.0  # 1: off
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        assert self.max_tokens >= 0, "max_tokens must be >= 0"
        assert self.temperature >= 0, "temperature must be >= 0"
        assert self.top_k >= 0 and 0 < self.top_p <= 1, "need top_k >= 0 and 0 < top_p <= 1"
        assert self.repetition_penalty > 0, "repetition_penalty must be > 0"
        object.__setattr__(self, "stop", tuple(s for s in self.stop if s))


def repetition_penalty(logits: torch.Tensor, history: torch.Tensor, penalty: float) -> torch.Tensor:
    """``logits`` (B, V); ``history`` (B, L) token ids already in each row's context."""
    seen = logits.gather(1, history)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return logits.scatter(1, history, seen)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Everything below the k-th best logit becomes -inf."""
    kth = torch.topk(logits, min(k, logits.shape[-1]), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, -float("inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the best tokens until their cumulative probability reaches ``p`` (at least one)."""
    sorted_logits, order = torch.sort(logits, descending=False, dim=-1)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    drop_sorted = cumulative <= 1 - p
    drop_sorted[..., -1] = False  # the best token always survives
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, -float("inf"))


def next_tokens(logits: torch.Tensor, params: SamplingParams, history: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
    """One token id per row of ``logits`` (B, V)."""
    logits = logits.float()
    if params.repetition_penalty != 1.0 and history is not None:
        logits = repetition_penalty(logits, history, params.repetition_penalty)
    if params.temperature == 0:
        return argmax_rows(logits)  # rows it cannot take (not 2-D, NaN, ...) it hands to torch
    logits = logits / params.temperature
    if params.top_k:
        logits = top_k_filter(logits, params.top_k)
    if params.top_p < 1.0:
        logits = top_p_filter(logits, params.top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(-1)
