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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from aipath.llm.attention import Attention
from aipath.llm.decoder import Decoder
from aipath.llm.mlp import SwiGLU
from aipath.llm.norms import RMSNorm
from aipath.llm.positions import apply_rotary
from aipath.serve import decode_kernel, fused_ops, paged_attention
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


@dataclass
class _Block:
    """What the fused path calls in one decoder block: the projections' ``forward`` (no module
    dispatch), and the pointers of its norm weights and of its layer of the KV pools. Built once:
    the runner owns the model, whose weights stay where they are (``keep`` holds the tensors
    the pointers point into, so they outlive any replacement)."""

    qkv: Callable | None
    q: Callable
    k: Callable
    v: Callable
    o: Callable
    gate_up: Callable | None
    gate: Callable
    up: Callable
    down: Callable
    attn_norm: int
    attn_eps: float
    mlp_norm: int
    mlp_eps: float
    next_norm: int  # the next block's attention norm, or the final norm
    next_eps: float
    k_pool: torch.Tensor
    v_pool: torch.Tensor
    k_ptr: int
    v_ptr: int
    keep: tuple[torch.Tensor, ...]

    @classmethod
    def of(cls, runner: "ModelRunner", i: int) -> "_Block":
        model = runner.model
        layer = model.layers[i]
        attn, mlp = layer.attn, layer.mlp
        nxt = model.layers[i + 1].attn_norm if i + 1 < len(model.layers) else model.norm
        k_pool, v_pool = runner.k_cache[attn.layer], runner.v_cache[attn.layer]
        fwd = lambda m: None if m is None else m.forward  # noqa: E731
        return cls(fwd(attn.qkv), attn.q.forward, attn.k.forward, attn.v.forward, attn.o.forward, fwd(mlp.gate_up), mlp.gate.forward, mlp.up.forward,
                   mlp.down.forward, layer.attn_norm.weight.data_ptr(), layer.attn_norm.eps, layer.mlp_norm.weight.data_ptr(), layer.mlp_norm.eps,
                   nxt.weight.data_ptr(), nxt.eps, k_pool, v_pool, k_pool.data_ptr(), v_pool.data_ptr(),
                   (layer.attn_norm.weight, layer.mlp_norm.weight, nxt.weight))


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
        self.fused = fusable(self.model, self.dtype, self.device)  # tests switch it off to compare
        self._blocks = [_Block.of(self, i) for i in range(cfg.n_layers)] if self.fused else []

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
        if self.fused:
            return self._run_fused(lay)
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

    def _run_fused(self, lay: BatchLayout) -> torch.Tensor:
        """``run`` with the residual adds, norms, rope, KV writes and SiLU gates fused (``fused_ops``).

        Per step, not per layer: the activations' buffers (each is consumed by the next weight
        multiplication before it is overwritten), and the pointers handed to the kernels."""
        model, cfg, ops = self.model, self.model.cfg, fused_ops.load()
        heads, kv, hd = cfg.n_heads, cfg.kv_heads, cfg.head_size
        x = model.embed(lay.tokens).contiguous()  # (N, dim): the residual stream, updated in place
        n, dim = x.shape
        h, q, att = torch.empty_like(x), x.new_empty(n, heads, hd), x.new_empty(n, heads, hd)
        xp, hp, qp, attp = x.data_ptr(), h.data_ptr(), q.data_ptr(), att.data_ptr()
        pos_p, slot_p = lay.positions.data_ptr(), lay.slot_rows.data_ptr()
        cos_p, sin_p = model.rope.cos.data_ptr(), model.rope.sin.data_ptr()
        decode = lay.groups[0] if len(lay.groups) == 1 and lay.groups[0].q_len == 1 and self.decode_kernel else None
        if decode is not None:  # the common step: only decodes, straight to the kernel
            attend = decode_kernel.load().paged_decode_attention
            # One thread: an OpenMP team's barrier waits for every thread, and on the shared 2-core
            # machine one of them is often paused (bench serve, load ~2: 137 -> 170 tok/s at 16
            # clients and 32 -> 54 at 1 with the attention on the engine thread alone).
            dk_args = (decode.tables.data_ptr(), decode.tables.shape[1], decode.lens.data_ptr(), n, heads, kv, self.config.block_size, hd, hd**-0.5, attp, 1)
        blocks = self._blocks
        ops.add_rms_norm(xp, None, blocks[0].attn_norm, hp, n, dim, blocks[0].attn_eps)
        for b in blocks:
            if b.qkv is not None:
                qkv = b.qkv(h)
                ld, src = qkv.shape[1], qkv.data_ptr()
                ops.rope_write(src, src + 4 * heads * hd, src + 4 * (heads + kv) * hd, ld, ld, ld, n, heads, kv, hd, cos_p, sin_p, pos_p,
                               b.k_ptr, b.v_ptr, slot_p, qp)
            else:
                parts = b.q(h), b.k(h), b.v(h)
                ops.rope_write(*(t.data_ptr() for t in parts), *(t.shape[1] for t in parts), n, heads, kv, hd, cos_p, sin_p, pos_p,
                               b.k_ptr, b.v_ptr, slot_p, qp)
            if decode is not None:
                attend(qp, b.k_ptr, b.v_ptr, *dk_args)
                out = att
            else:
                outs = [self._group_attention(q[g.rows], b.k_pool, b.v_pool, g) for g in lay.groups]
                out = outs[0] if len(outs) == 1 else torch.cat(outs)
            o = b.o(out.view(n, heads * hd))  # held by a name: a temporary's memory is freed before the call reads it
            ops.add_rms_norm(xp, o.data_ptr(), b.mlp_norm, hp, n, dim, b.mlp_eps)
            if b.gate_up is not None:
                gate_up = b.gate_up(h)
                hidden = gate_up.shape[1] // 2
                gate, up = gate_up[:, :hidden], gate_up[:, hidden:]
            else:
                gate, up = b.gate(h), b.up(h)
            down = b.down(fused_ops.silu_mul(gate, up))
            ops.add_rms_norm(xp, down.data_ptr(), b.next_norm, hp, n, dim, b.next_eps)
        return model.lm_head(h[lay.logits_index]).float()

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


def fusable(model: Decoder, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether ``fused_ops`` can run this model's blocks: float32 on the CPU, RMSNorm, rope, SwiGLU, no q/k norm."""
    cfg = model.cfg
    norms = [model.norm] + [n for layer in model.layers for n in (layer.attn_norm, layer.mlp_norm)]
    return (dtype == torch.float32 and device.type == "cpu" and model.rope is not None and model.pos is None and cfg.head_size % 16 == 0
            and all(type(n) is RMSNorm for n in norms) and all(isinstance(layer.mlp, SwiGLU) and layer.attn.q_norm is None for layer in model.layers)
            and fused_ops.load() is not None)
