"""The small per-layer operations of a serving step, three C++ calls per block (prefill and mixed steps).

Between its weight multiplications a Llama block runs about thirty small torch operations
per step, each a few microseconds of dispatch for a few microseconds of arithmetic. Steps
that only decode run each int8 block as one call (``aipath.llm.fused_decode``); the other
steps (prefill chunks, float32 weights) call ``aipath.llm.row_ops_kernel``'s operations one
at a time through this module:

- ``add_rms_norm``: ``x += delta`` (the residual) and ``h = rmsnorm(x) * weight`` in one pass;
- ``rope_write``: rotary encoding of q and k straight out of the q/k/v projection, k and v
  written to their slots in the paged pool, q written token-major for attention;
- ``silu_mul``: ``silu(gate) * up`` straight out of the gate/up projection.

``add_rms_norm``, ``argmax`` (the sampler's greedy pick, first largest index as
``torch.argmax``) and ``load`` are ``row_ops_kernel``'s wrappers, shared with the LLM's own
decode loop. (Embedding rows need no op here: ``Int8Embedding`` looks them up in C++.)

The C++ is compiled into ``int8_kernel``'s library on first use; without it the runner
keeps the torch operations. The tests compare this path with the torch one.
"""

from __future__ import annotations

import torch

from aipath.llm.row_ops_kernel import add_rms_norm, argmax, load

__all__ = ["add_rms_norm", "argmax", "load", "rope_write", "silu_mul"]


def rope_write(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, kv_heads: int, head_dim: int, cos: torch.Tensor, sin: torch.Tensor,
               positions: torch.Tensor, k_pool: torch.Tensor, v_pool: torch.Tensor, slot_rows: torch.Tensor) -> torch.Tensor:
    """Rotated queries ``(N, heads, head_dim)``; rotated keys and the values go to ``slot_rows`` of the pools.

    ``q``, ``k``, ``v``: (N, *) row views with unit column stride (column ranges of a fused
    projection, or three separate projections); rows go to ``(N, heads, head_dim)``."""
    n = q.shape[0]
    q_out = q.new_empty(n, heads, head_dim)
    load().rope_write(q.data_ptr(), k.data_ptr(), v.data_ptr(), q.stride(0), k.stride(0), v.stride(0), n, heads, kv_heads, head_dim, cos.data_ptr(), sin.data_ptr(),
                      positions.data_ptr(), k_pool.data_ptr(), v_pool.data_ptr(), slot_rows.data_ptr(), q_out.data_ptr())
    return q_out


def silu_mul(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """``silu(gate) * up`` for row views ``gate`` and ``up`` (N, hidden) sharing one row stride."""
    n, hidden = gate.shape
    out = gate.new_empty(n, hidden)
    load().silu_mul(gate.data_ptr(), up.data_ptr(), gate.stride(0), n, hidden, out.data_ptr())
    return out
