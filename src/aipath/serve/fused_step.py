"""A serving step with the small ops between the weight multiplications fused (``fused_ops``).

Any batch (prefill chunks, decodes, both) of a float32-activation Llama-family model on the
CPU: per block, the projections run as the model's own ``forward`` and everything between
them is three C++ calls (add+RMSNorm, rope + paged KV write, SiLU gate) plus attention.
Steps that only decode on int8 weights take ``block_decode`` instead (one call per block).
``ModelRunner``'s module path stays the reference the tests compare this one with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from aipath.llm.decoder import Decoder
from aipath.llm.mlp import SwiGLU
from aipath.llm.norms import RMSNorm
from aipath.serve import decode_kernel, fused_ops

if TYPE_CHECKING:
    from aipath.serve.model_runner import BatchLayout, ModelRunner


@dataclass
class Block:
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
    def of(cls, runner: ModelRunner, i: int) -> Block:
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


def run(runner: ModelRunner, blocks: list[Block], lay: BatchLayout) -> torch.Tensor:
    """``ModelRunner.run`` with the residual adds, norms, rope, KV writes and SiLU gates fused.

    Per step, not per layer: the activations' buffers (each is consumed by the next weight
    multiplication before it is overwritten), and the pointers handed to the kernels."""
    model, cfg, ops = runner.model, runner.model.cfg, fused_ops.load()
    heads, kv, hd = cfg.n_heads, cfg.kv_heads, cfg.head_size
    x = model.embed(lay.tokens).contiguous()  # (N, dim): the residual stream, updated in place
    n, dim = x.shape
    h, q, att = torch.empty_like(x), x.new_empty(n, heads, hd), x.new_empty(n, heads, hd)
    xp, hp, qp, attp = x.data_ptr(), h.data_ptr(), q.data_ptr(), att.data_ptr()
    pos_p, slot_p = lay.positions.data_ptr(), lay.slot_rows.data_ptr()
    cos_p, sin_p = model.rope.cos.data_ptr(), model.rope.sin.data_ptr()
    decode = lay.groups[0] if len(lay.groups) == 1 and lay.groups[0].q_len == 1 and runner.decode_kernel else None
    if decode is not None:  # only decodes, straight to the kernel
        attend = decode_kernel.load().paged_decode_attention
        dk_args = (decode.tables.data_ptr(), decode.tables.shape[1], decode.lens.data_ptr(), n, heads, kv, runner.config.block_size, hd, hd**-0.5, attp,
                   torch.get_num_threads())
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
            outs = [runner._group_attention(q[g.rows], b.k_pool, b.v_pool, g) for g in lay.groups]
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
    return model.lm_head(h.index_select(0, lay.logits_index)).float()  # not h[index]: see block_decode


def fusable(model: Decoder, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether ``fused_ops`` can run this model's blocks: float32 on the CPU, RMSNorm, rope, SwiGLU, no q/k norm."""
    cfg = model.cfg
    norms = [model.norm] + [n for layer in model.layers for n in (layer.attn_norm, layer.mlp_norm)]
    return (dtype == torch.float32 and device.type == "cpu" and model.rope is not None and model.pos is None and cfg.head_size % 8 == 0
            and all(type(n) is RMSNorm for n in norms) and all(isinstance(layer.mlp, SwiGLU) and layer.attn.q_norm is None for layer in model.layers)
            and fused_ops.load() is not None)
