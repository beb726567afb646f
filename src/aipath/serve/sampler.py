"""Next tokens for a batch where every row has its own sampling rules.

Greedy rows without penalties (the common serving case) take one batched argmax. Unseeded
rows without penalties that share (temperature, top-k, top-p) take one batched draw. The
rest are processed one by one, in ``transformers``' order: repetition penalty, OpenAI's
presence/frequency penalties, temperature, top-k, top-p, then a draw from the row's own
seeded generator (per row, so a seeded request's tokens do not depend on its batch). Reported logprobs are those of the model's distribution (before any
processing), as vLLM reports them.
"""

from __future__ import annotations

import torch

from aipath.llm.sampling import repetition_penalty, top_k_filter, top_p_filter
from aipath.serve import fused_ops
from aipath.serve.sequence import Sequence, TokenLogprob


def penalised(logits: torch.Tensor, seq: Sequence) -> torch.Tensor:
    """``logits`` (V,) after the repetition, presence and frequency penalties of ``seq``."""
    p = seq.params
    if p.repetition_penalty != 1.0:
        logits = repetition_penalty(logits[None], torch.tensor([seq.token_ids]), p.repetition_penalty)[0]
    if (p.presence_penalty or p.frequency_penalty) and seq.output_ids:
        counts = torch.bincount(torch.tensor(seq.output_ids), minlength=logits.shape[-1]).to(logits.dtype)
        logits = logits - p.presence_penalty * (counts > 0) - p.frequency_penalty * counts
    return logits


def draw(logits: torch.Tensor, temperature: float, top_k: int, top_p: float, generator: torch.Generator | None = None) -> list[int]:
    """One token per row of ``logits`` (B, V), all rows under the same temperature, top-k and top-p."""
    logits = logits / temperature
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0].tolist()


def sample_row(logits: torch.Tensor, seq: Sequence) -> int:
    p = seq.params
    logits = penalised(logits, seq)
    if p.greedy:
        return int(logits.argmax())
    return draw(logits[None], p.temperature, p.top_k, p.top_p, seq.generator)[0]


def has_penalties(seq: Sequence) -> bool:
    p = seq.params
    return p.repetition_penalty != 1.0 or bool(p.presence_penalty or p.frequency_penalty)


def needs_processing(seq: Sequence) -> bool:
    return not seq.params.greedy or has_penalties(seq)


class Sampler:
    def __call__(self, logits: torch.Tensor, seqs: list[Sequence]) -> tuple[list[int], list[TokenLogprob | None]]:
        """One token per row of ``logits`` (B, V) and, where asked for, its logprobs."""
        logits = logits.float().cpu()
        tokens = fused_ops.argmax(logits)
        shared: dict[tuple[float, int, float], list[int]] = {}
        for i, seq in enumerate(seqs):
            p = seq.params
            if not needs_processing(seq):
                continue
            if seq.generator is None and not has_penalties(seq):
                shared.setdefault((p.temperature, p.top_k, p.top_p), []).append(i)
            else:
                tokens[i] = sample_row(logits[i], seq)
        for (temperature, top_k, top_p), rows in shared.items():
            for i, token in zip(rows, draw(logits[rows], temperature, top_k, top_p)):
                tokens[i] = token
        return tokens, _logprobs(logits, seqs, tokens)


def _logprobs(logits: torch.Tensor, seqs: list[Sequence], tokens: list[int]) -> list[TokenLogprob | None]:
    want = [i for i, s in enumerate(seqs) if s.params.logprobs is not None]
    logprobs: list[TokenLogprob | None] = [None] * len(seqs)
    if want:
        logp = torch.log_softmax(logits[want], dim=-1)
        for row, i in enumerate(want):
            top = torch.topk(logp[row], seqs[i].params.logprobs) if seqs[i].params.logprobs else None
            alts = list(zip(top.indices.tolist(), top.values.tolist())) if top is not None else []
            logprobs[i] = TokenLogprob(tokens[i], float(logp[row, tokens[i]]), alts)
    return logprobs
