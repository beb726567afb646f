"""One batched forward pass of the Decoder over the paged KV cache.

The tokens of every scheduled sequence are *packed* into one row (no padding) for the
embeddings, projections and MLP, which is where the FLOPs are. Only attention needs the
per-sequence view: each new token's key/value is written to its slot in the block pool,
then the sequences attend over their blocks in two groups, each with its own padded query
grid: decodes (one query per sequence: no causal part in the mask, no scatter into a
grid) and prefills (chunks of prompts, causal). Two groups, because a mixed batch padded
to its longest prefill chunk would give every decode that many padded queries. The
Decoder's own submodules and weights are used as they are; only the cache handling
differs from ``Decoder.forward``.

That module path is the reference. Two faster paths compute the same step on the CPU:
``block_decode`` (steps that only decode, int8 weights: one C++ call per block) and
``fused_step`` (any other step: the small ops between the projections fused).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aipath.llm.attention import Attention
from aipath.llm.decoder import Decoder
from aipath.llm.positions import apply_rotary
from aipath.serve import decode_kernel, fused_step, paged_attention
from aipath.serve.block_decode import BlockDecode
from aipath.serve.config import EngineConfig
from aipath.serve.scheduler import ScheduledBatch
from aipath.serve.sequence import Sequence


@dataclass
class AttentionGroup:
    """Sequences whose queries share one padded ``(B, Q)`` grid, and the keys they may see."""

    rows: slice  # their tokens in the packed batch
    q_len: int  # Q: the longest chunk of the group (1 for decodes)
    batch: int  # B
    tables: torch.Tensor  # (B, n) block ids covering every key of the group, padded with block 0
    lens: torch.Tensor  # (B,) keys each sequence attends after this step (for the decode kernel)
    rows_to_gather: torch.Tensor | None  # ``paged_attention.block_rows`` of the block tables, padded with block 0 (None: the decode kernel's group)
    bias: torch.Tensor | None  # the causal and padding mask as ``paged_attention.attention_bias`` (None: the decode kernel's group)
    query_index: torch.Tensor | None  # (rows,) place of each packed token in the B * Q grid; None when Q == 1


@dataclass
class BatchLayout:
    """Index tensors describing where every packed token lives."""

    tokens: torch.Tensor  # (N,) token ids, packed: decodes first, then prefill chunks
    positions: torch.Tensor  # (N,) absolute positions
    slot_rows: torch.Tensor  # (N * kv_heads,) pool rows of the new tokens' K/V, as ``paged_attention.slot_rows``
    groups: list[AttentionGroup]
    logits_index: torch.Tensor  # packed index of the last token of sequences that sample, in batch order


class ModelRunner:
    def __init__(self, model: Decoder, config: EngineConfig) -> None:
        self.model = model.to(config.device).eval()
        self.config = config
        self.device = torch.device(config.device)
        cfg = model.cfg
        self.dtype = model.norm.weight.dtype
        geometry = (cfg.n_layers, config.num_blocks, cfg.kv_heads, config.block_size, cfg.head_size, self.dtype, self.device)
        self.k_cache = paged_attention.new_pool(*geometry)
        self.v_cache = paged_attention.new_pool(*geometry)
        self.decode_kernel = decode_kernel.usable(self.dtype, self.device, cfg.head_size)
        # The fast paths (``fused_step``, ``block_decode``); tests switch them off to compare with the modules.
        self.fused = fused_step.fusable(self.model, self.dtype, self.device)
        self._blocks = [fused_step.Block.of(self, i) for i in range(cfg.n_layers)] if self.fused else []
        fits = self.decode_kernel and BlockDecode.fits(self.model, self.dtype, self.device)
        self.block_decode = BlockDecode(self.model, self.k_cache, self.v_cache, config.block_size) if fits else None

    def layout(self, batch: ScheduledBatch, sample: list[bool]) -> BatchLayout:
        """Pack the batch (decodes first) with a handful of tensor ops per group, not per sequence."""
        counts = batch.num_tokens
        decodes = [i for i, n in enumerate(counts) if n == 1]
        prefills = [i for i, n in enumerate(counts) if n > 1]
        offsets, groups, positions, slot_blocks, tokens = {}, [], [], [], []
        for members in (decodes, prefills):
            if not members:
                continue
            start = len(tokens)
            for i in members:
                seq = batch.seqs[i]
                offsets[i] = len(tokens)
                tokens += seq.token_ids[seq.num_computed_tokens : seq.num_computed_tokens + counts[i]]
            group, pos, blocks = self._group([batch.seqs[i] for i in members], [counts[i] for i in members], slice(start, len(tokens)))
            groups.append(group)
            positions.append(pos)
            slot_blocks.append(blocks)
        logits_index = [offsets[i] + counts[i] - 1 for i, s in enumerate(sample) if s]
        to, bs = self.device, self.config.block_size
        pos = torch.cat(positions)
        rows = paged_attention.slot_rows(torch.cat(slot_blocks), pos % bs, self.model.cfg.kv_heads, bs)
        return BatchLayout(torch.tensor(tokens, device=to), pos.to(to), rows.to(to), groups, torch.tensor(logits_index, dtype=torch.long, device=to))

    def _group(self, seqs: list[Sequence], counts: list[int], rows: slice) -> tuple[AttentionGroup, torch.Tensor, torch.Tensor]:
        """The group's attention layout, and the positions and cache blocks of its packed tokens."""
        bs = self.config.block_size
        n_blocks = max(-(-(s.num_computed_tokens + n) // bs) for s, n in zip(seqs, counts))
        tables = torch.tensor([s.block_table[:n_blocks] + [0] * (n_blocks - len(s.block_table[:n_blocks])) for s in seqs])
        q_len = max(counts)
        to = self.device
        if q_len == 1 and self.decode_kernel:  # the kernel needs only tables and lengths
            starts = [s.num_computed_tokens for s in seqs]
            pos = torch.tensor(starts)
            lens = torch.tensor([p + 1 for p in starts])
            blocks = tables[torch.arange(len(seqs)), pos // bs]
            return AttentionGroup(rows, 1, len(seqs), tables.to(to), lens.to(to), None, None, None), pos, blocks
        starts, counts_t = torch.tensor([s.num_computed_tokens for s in seqs]), torch.tensor(counts)
        query_pos = starts[:, None] + torch.arange(q_len)  # (B, Q)
        real = torch.arange(q_len) < counts_t[:, None]  # False at padding queries
        mask = torch.arange(n_blocks * bs) <= query_pos[..., None]  # causal; padding queries see key 0 at least
        row, pos = real.nonzero(as_tuple=True)[0], query_pos[real]
        cfg = self.model.cfg
        query_index = real.view(-1).nonzero().squeeze(1).to(to) if q_len > 1 else None
        bias = paged_attention.attention_bias(mask.to(to), cfg.kv_heads, cfg.n_heads // cfg.kv_heads, self.dtype)
        tables_to = tables.to(to)
        gather_rows = paged_attention.block_rows(tables_to, cfg.kv_heads)
        group = AttentionGroup(rows, q_len, len(seqs), tables_to, (starts + counts_t).to(to), gather_rows, bias, query_index)
        return group, pos, tables[row, pos // bs]

    @torch.inference_mode()
    def run(self, batch: ScheduledBatch, sample: list[bool]) -> torch.Tensor:
        """Logits ``(sum(sample), vocab)`` for the sequences whose last token was computed."""
        lay = self.layout(batch, sample)
        if self.block_decode is not None and len(lay.groups) == 1 and lay.groups[0].q_len == 1:
            return self.block_decode.run(lay)
        if self.fused:
            return fused_step.run(self, self._blocks, lay)
        model = self.model
        x = model.embed(lay.tokens)[None]  # (1, N, dim)
        if model.pos is not None:
            x = x + model.pos(lay.positions[None])
        rope = None
        if model.rope is not None:
            cos, sin = model.rope(lay.positions[None], x.dtype)  # (1, 1, N, head_dim)
            rope = cos[0, 0, :, None], sin[0, 0, :, None]  # (N, 1, head_dim): broadcast over token-major heads
        for layer in model.layers:
            x = x + self._attend(layer.attn, layer.attn_norm(x), rope, lay)
            x = x + layer.mlp(layer.mlp_norm(x))
        return model.lm_head(model.norm(x[0, lay.logits_index])).float()

    def _attend(self, attn: Attention, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None, lay: BatchLayout) -> torch.Tensor:
        """Heads stay token-major (N, heads, head_dim) throughout: the cache takes k and v as they
        come out of the projections, and a decode's queries need no copy to meet their keys."""
        n = x.shape[1]
        q, k, v = (heads[0].transpose(0, 1) for heads in attn.project(x))  # (N, heads, head_dim) views
        if attn.q_norm is not None:
            q, k = attn.q_norm(q), attn.k_norm(k)
        if rope is not None:
            q, k = apply_rotary(q, k, *rope)
        k_pool, v_pool = self.k_cache[attn.layer], self.v_cache[attn.layer]
        paged_attention.write(k_pool, lay.slot_rows, k)
        paged_attention.write(v_pool, lay.slot_rows, v)
        outs = [self._group_attention(q[g.rows], k_pool, v_pool, g) for g in lay.groups]
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        return attn.o(out.reshape(1, n, attn.n_heads * attn.hd))

    def _group_attention(self, q: torch.Tensor, k_pool: torch.Tensor, v_pool: torch.Tensor, g: AttentionGroup) -> torch.Tensor:
        """The group's packed queries (rows, heads, head_dim) attend over their blocks."""
        if g.q_len == 1 and self.decode_kernel:
            return decode_kernel.decode_attention(q, k_pool, v_pool, g.tables, g.lens)
        b = g.batch
        if g.query_index is None:
            grid = q[:, None]
        else:
            grid = q.new_zeros(b * g.q_len, *q.shape[1:]).index_copy_(0, g.query_index, q).view(b, g.q_len, *q.shape[1:])
        keys, values = paged_attention.gather(k_pool, g.rows_to_gather, b), paged_attention.gather(v_pool, g.rows_to_gather, b)
        out = paged_attention.grouped_attention(grid, keys, values, g.bias)
        return out[:, 0] if g.query_index is None else out.reshape(b * g.q_len, *q.shape[1:])[g.query_index]

