"""A request's life in the engine: its tokens, how many have KV in the cache, its blocks.

One counter drives everything: ``num_computed_tokens``. Tokens past it still need a
forward pass; when a step brings it to ``len(token_ids)`` the last logits are sampled.
Prefill, chunked prefill, decode and recompute after preemption are all the same rule.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from enum import Enum, auto

import torch

from aipath.llm.streaming import TextStream
from aipath.serve.sampling_params import SamplingParams


class Status(Enum):
    WAITING = auto()
    RUNNING = auto()
    FINISHED = auto()


@dataclass
class TokenLogprob:
    """The chosen token's log-probability and the ``top`` alternatives (id, logprob)."""

    token_id: int
    logprob: float
    top: list[tuple[int, float]]


_ids = itertools.count()


@dataclass(eq=False)
class Sequence:
    """One request (n=1): prompt + generated token ids and its place in the KV cache."""

    prompt_ids: list[int]
    params: SamplingParams
    request_id: str = field(default_factory=lambda: f"seq-{next(_ids)}")
    token_ids: list[int] = field(init=False)
    num_computed_tokens: int = 0
    num_cached_tokens: int = 0  # prompt tokens found in the prefix cache at the last allocation
    block_table: list[int] = field(default_factory=list)
    status: Status = Status.WAITING
    finish_reason: str | None = None  # "stop" | "length" | "abort"
    logprobs: list[TokenLogprob] = field(default_factory=list)
    stream: TextStream | None = None  # detokenizer for stop strings and text deltas
    generator: torch.Generator | None = None
    arrival: float = field(default_factory=time.monotonic)
    first_token_time: float | None = None
    last_token_time: float | None = None

    def __post_init__(self) -> None:
        assert self.prompt_ids, "a prompt needs at least one token"
        self.token_ids = list(self.prompt_ids)
        if self.params.seed is not None:
            self.generator = torch.Generator().manual_seed(self.params.seed)

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def num_prompt_tokens(self) -> int:
        return len(self.prompt_ids)

    @property
    def output_ids(self) -> list[int]:
        return self.token_ids[self.num_prompt_tokens :]

    @property
    def num_uncomputed(self) -> int:
        return len(self.token_ids) - self.num_computed_tokens

    @property
    def finished(self) -> bool:
        return self.status is Status.FINISHED

    def num_blocks_needed(self, block_size: int) -> int:
        return -(-len(self.token_ids) // block_size)

    def block_tokens(self, i: int, block_size: int) -> list[int]:
        return self.token_ids[i * block_size : (i + 1) * block_size]
