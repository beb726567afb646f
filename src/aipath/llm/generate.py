"""The decoding loop: prefill the prompt once, then one token per step through the KV cache.

Several prompts run as one batch: they are left-padded to the same length (so every row's
next token sits in the last column), the attention mask hides the padding, and position
ids count from each row's first real token. A row that has finished keeps being fed
(its outputs are ignored) until every row is done, which keeps the step a single batched
forward pass.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from aipath.llm.decoder import Decoder
from aipath.llm.sampling import SamplingParams, next_tokens


def left_pad(prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens, valid)`` of shape (B, longest); padding repeats each row's first token."""
    if not prompts or not all(prompts):
        raise ValueError("every prompt needs at least one token")
    width = max(len(p) for p in prompts)
    tokens = torch.tensor([[p[0]] * (width - len(p)) + p for p in prompts])
    valid = torch.tensor([[False] * (width - len(p)) + [True] * len(p) for p in prompts])
    return tokens, valid


@torch.inference_mode()
def generate_tokens(
    model: Decoder, prompts: list[list[int]], params: SamplingParams, stop_ids: set[int] = frozenset()
) -> Iterator[list[int | None]]:
    """Yield, per step, the new token of every row (``None`` for rows already finished).

    A row finishes on a token in ``stop_ids`` (which is yielded, so the caller sees why) or
    after ``params.max_tokens``; the caller may also just stop iterating (stop strings).
    """
    tokens, valid = left_pad(prompts)
    batch, width = tokens.shape
    if width >= model.cfg.max_seq_len:
        raise ValueError(f"a prompt of {width} tokens leaves no room in the model's context of {model.cfg.max_seq_len}")
    max_len = min(width + params.max_tokens, model.cfg.max_seq_len)
    if params.max_tokens == 0:
        return
    cache = model.new_cache(batch, max_len)
    generator = torch.Generator().manual_seed(params.seed) if params.seed is not None else None
    history = tokens  # padding repeats a real token, so the repetition penalty is unaffected
    padded = not bool(valid.all())
    logits = model(tokens, cache, valid if padded else None, last_only=True)[:, -1]
    done = torch.zeros(batch, dtype=torch.bool)
    steps = max_len - width
    for step in range(steps):
        new = next_tokens(logits, params, history, generator)
        yield [None if d else int(t) for t, d in zip(new.tolist(), done.tolist())]
        done |= torch.tensor([t in stop_ids for t in new.tolist()])
        if bool(done.all()) or step == steps - 1:
            return
        history = torch.cat([history, new[:, None]], dim=1)
        valid = torch.cat([valid, torch.ones(batch, 1, dtype=torch.bool)], dim=1)
        logits = model(new[:, None], cache, valid if padded else None, last_only=True)[:, -1]
