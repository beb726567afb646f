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

``argmax`` is the sampler's greedy pick, first largest index as ``torch.argmax``; ``embed``
looks up int8 embedding rows without starting torch's OpenMP team.

The C++ is compiled into ``int8_kernel``'s library on first use; without it the runner
keeps the torch operations. The tests compare this path with the torch one.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch

from aipath.llm import int8_kernel
from aipath.llm.int8 import Int8Embedding


@lru_cache(maxsize=1)
def load() -> ctypes.CDLL | None:
    """The compiled kernels, or None (with a warning saying why) where they cannot run here."""
    lib = int8_kernel.load_kernel()
    if lib is not None:
        p, i, f = ctypes.c_void_p, ctypes.c_long, ctypes.c_float
        lib.add_rms_norm.argtypes = [p, p, p, p, i, i, f]
        lib.rope_write.argtypes = [p, p, p, i, i, i, i, i, i, i, p, p, p, p, p, p, p]
        lib.silu_mul.argtypes = [p, p, i, i, i, p]
        lib.argmax_rows.argtypes = [p, i, i, i, p]
        lib.argmax_rows.restype = ctypes.c_int
        for fn in (lib.add_rms_norm, lib.rope_write, lib.silu_mul):
            fn.restype = None
    return lib


def add_rms_norm(x: torch.Tensor, delta: torch.Tensor | None, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``x += delta`` in place (when given), then ``rmsnorm(x) * weight``; ``x`` (N, D) contiguous float32."""
    n, d = x.shape
    h = torch.empty_like(x)
    load().add_rms_norm(x.data_ptr(), None if delta is None else delta.data_ptr(), weight.data_ptr(), h.data_ptr(), n, d, eps)
    return h


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


def argmax(logits: torch.Tensor) -> list[int]:
    """``logits.argmax(-1).tolist()`` for float32 rows (N, V) with unit column stride: the first
    largest index of each row, in one vectorised pass instead of torch's scalar-order reduction
    (ten times faster over a 49k vocabulary). Torch answers where it cannot (NaN, no kernel)."""
    lib = load()
    if lib is None or logits.dtype != torch.float32 or logits.device.type != "cpu" or logits.stride(-1) != 1 or logits.dim() != 2:
        return logits.argmax(-1).tolist()
    out = torch.empty(logits.shape[0], dtype=torch.long)
    if lib.argmax_rows(logits.data_ptr(), logits.shape[0], logits.shape[1], logits.stride(0), out.data_ptr()):
        return logits.argmax(-1).tolist()
    return out.tolist()


def embed(table: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """``table(tokens).contiguous()`` for (N,) token ids; int8 tables through the C++ lookup
    (torch's gather starts an OpenMP team, and a shared CPU may stall it for a time slice)."""
    if isinstance(table, Int8Embedding) and load() is not None:
        return int8_kernel.q8_embed(table.panels, table.scale, tokens)
    return table(tokens).contiguous()
