"""Next tokens for a batch where every row has its own sampling rules.

Greedy rows without penalties (the common serving case) take one batched argmax; other
rows are processed one by one, in ``transformers``' order: repetition penalty, OpenAI's
presence/frequency penalties, temperature, top-k, top-p, then a draw from the row's own
seeded generator. Reported logprobs are those of the model's distribution (before any
processing), as vLLM reports them.
"""

from __future__ import annotations

import torch

from aipath.llm.sampling import repetition_penalty, top_k_filter, top_p_filter
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


def sample_row(logits: torch.Tensor, seq: Sequence) -> int:
    p = seq.params
    logits = penalised(logits, seq)
    if p.greedy:
        return int(logits.argmax())
    logits = logits / p.temperature
    if p.top_k:
        logits = top_k_filter(logits, p.top_k)
    if p.top_p < 1.0:
        logits = top_p_filter(logits[None], p.top_p)[0]
    return int(torch.multinomial(logits.softmax(-1), 1, generator=seq.generator))


def needs_processing(seq: Sequence) -> bool:
    p = seq.params
    return not p.greedy or p.repetition_penalty != 1.0 or bool(p.presence_penalty or p.frequency_penalty)


class Sampler:
    def __call__(self, logits: torch.Tensor, seqs: list[Sequence]) -> tuple[list[int], list[TokenLogprob | None]]:
        """One token per row of ``logits`` (B, V) and, where asked for, its logprobs."""
        logits = logits.float().cpu()
        tokens = logits.argmax(-1).tolist()
        for i, seq in enumerate(seqs):
            if needs_processing(seq):
                tokens[i] = sample_row(logits[i], seq)
        want = [i for i, s in enumerate(seqs) if s.params.logprobs is not None]
        logprobs: list[TokenLogprob | None] = [None] * len(seqs)
        if want:
            logp = torch.log_softmax(logits[want], dim=-1)
            for row, i in enumerate(want):
                top = torch.topk(logp[row], seqs[i].params.logprobs) if seqs[i].params.logprobs else None
                alts = list(zip(top.indices.tolist(), top.values.tolist())) if top is not None else []
                logprobs[i] = TokenLogprob(tokens[i], float(logp[row, tokens[i]]), alts)
        return tokens, logprobs
