"""One batched forward pass of the Decoder over the paged KV cache.

The tokens of every scheduled sequence are *packed* into one row (no padding) for the
embeddings, projections and MLP, which is where the FLOPs are. Only attention needs the
per-sequence view: each new token's key/value is written to its slot in the block pool,
then each sequence gathers its keys/values through its block table and its queries attend
over them with a causal mask. The Decoder's own submodules and weights are used as they
are; only the cache handling differs from ``Decoder.forward``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aipath.llm.attention import ATTENTION, Attention
from aipath.llm.decoder import Decoder
from aipath.llm.positions import apply_rotary
from aipath.serve.config import EngineConfig
from aipath.serve.scheduler import ScheduledBatch


@dataclass
class BatchLayout:
    """Index tensors describing where every packed token lives."""

    tokens: torch.Tensor  # (N,) token ids, packed
    positions: torch.Tensor  # (N,) absolute positions
    slots: torch.Tensor  # (N,) flat slot in the block pool for each new token's K/V
    query_index: torch.Tensor  # (N,) row in the padded (B * Q) query grid
    context_slots: torch.Tensor  # (B, K) flat slots of each sequence's keys (padded with 0)
    mask: torch.Tensor  # (B, 1, Q, K) True where a query may attend a key
    logits_index: torch.Tensor  # packed index of the last token of sequences that sample
    batch: int
    q_len: int


class ModelRunner:
    def __init__(self, model: Decoder, config: EngineConfig) -> None:
        self.model = model.to(config.device).eval()
        self.config = config
        self.device = torch.device(config.device)
        cfg = model.cfg
        self.attention = ATTENTION[config.attention or cfg.attn_impl]
        dtype = model.norm.weight.dtype
        slots = config.num_blocks * config.block_size
        # (layers, slots, kv_heads, head_dim): a flat slot index addresses one token's K or V
        self.k_cache = torch.zeros(cfg.n_layers, slots, cfg.kv_heads, cfg.head_size, dtype=dtype, device=self.device)
        self.v_cache = torch.zeros_like(self.k_cache)

    def layout(self, batch: ScheduledBatch, sample: list[bool]) -> BatchLayout:
        bs = self.config.block_size
        q_len = max(batch.num_tokens)
        k_len = max(s.num_computed_tokens + n for s, n in zip(batch.seqs, batch.num_tokens))
        tokens, positions, slots, query_index, logits_index = [], [], [], [], []
        context = torch.zeros(len(batch.seqs), k_len, dtype=torch.long)
        mask = torch.zeros(len(batch.seqs), 1, q_len, k_len, dtype=torch.bool)
        mask[:, :, :, 0] = True  # padded queries attend one key, so no row is all -inf (NaN)
        for b, (seq, n) in enumerate(zip(batch.seqs, batch.num_tokens)):
            start, end = seq.num_computed_tokens, seq.num_computed_tokens + n
            table = torch.tensor(seq.block_table, dtype=torch.long)
            pos = torch.arange(end)
            seq_slots = table[pos // bs] * bs + pos % bs
            context[b, :end] = seq_slots
            mask[b, 0, :n, :end] = torch.arange(end)[None, :] <= torch.arange(start, end)[:, None]
            logits_index.extend([len(tokens) + n - 1] if sample[b] else [])
            tokens.extend(seq.token_ids[start:end])
            positions.append(pos[start:])
            slots.append(seq_slots[start:])
            query_index.append(torch.arange(n) + b * q_len)
        to = self.device
        return BatchLayout(
            torch.tensor(tokens, device=to), torch.cat(positions).to(to), torch.cat(slots).to(to), torch.cat(query_index).to(to),
            context.to(to), mask.to(to), torch.tensor(logits_index, dtype=torch.long, device=to), len(batch.seqs), q_len,
        )

    @torch.inference_mode()
    def run(self, batch: ScheduledBatch, sample: list[bool]) -> torch.Tensor:
        """Logits ``(sum(sample), vocab)`` for the sequences whose last token was computed."""
        lay = self.layout(batch, sample)
        model = self.model
        x = model.embed(lay.tokens)[None]  # (1, N, dim)
        if model.pos is not None:
            x = x + model.pos(lay.positions[None])
        rope = model.rope(lay.positions[None], x.dtype) if model.rope is not None else None
        for layer in model.layers:
            x = x + self._attend(layer.attn, layer.attn_norm(x), rope, lay)
            x = x + layer.mlp(layer.mlp_norm(x))
        return model.lm_head(model.norm(x[0, lay.logits_index])).float()

    def _attend(self, attn: Attention, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None, lay: BatchLayout) -> torch.Tensor:
        n = x.shape[1]
        q = attn.q(x).view(1, n, attn.n_heads, attn.hd).transpose(1, 2)
        k = attn.k(x).view(1, n, attn.n_kv, attn.hd).transpose(1, 2)
        v = attn.v(x).view(1, n, attn.n_kv, attn.hd)
        if attn.q_norm is not None:
            q, k = attn.q_norm(q), attn.k_norm(k)
        if rope is not None:
            q, k = apply_rotary(q, k, *rope)
        k_pool, v_pool = self.k_cache[attn.layer], self.v_cache[attn.layer]
        k_pool[lay.slots] = k[0].transpose(0, 1)
        v_pool[lay.slots] = v[0]
        keys = k_pool[lay.context_slots].transpose(1, 2)  # (B, kv_heads, K, hd)
        values = v_pool[lay.context_slots].transpose(1, 2)
        grid = q.new_zeros(lay.batch * lay.q_len, attn.n_heads, attn.hd)
        grid[lay.query_index] = q[0].transpose(0, 1)
        out = self.attention(grid.view(lay.batch, lay.q_len, attn.n_heads, attn.hd).transpose(1, 2).contiguous(), keys, values, lay.mask)
        out = out.transpose(1, 2).reshape(lay.batch * lay.q_len, attn.n_heads * attn.hd)[lay.query_index]
        return attn.o(out)[None]
