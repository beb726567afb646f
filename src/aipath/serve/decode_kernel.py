"""Decode attention read straight from the paged pool, for the serving engine's steps that are not all int8 decodes.

The C++ is ``aipath.llm.attention_kernel``'s (the attention the fused int8 decode block runs
too), compiled into ``int8_kernel``'s library: each sequence's block table is walked and
every key and value row read once for all the query heads of its kv head; (sequence, kv
head) pairs are shared out over ``pool_kernel``'s threads.

Without g++, AVX2, float32 or a head size that is a multiple of 8, ``usable()`` is False and
the engine keeps the torch path (``paged_attention.grouped_attention``), which the tests
compare this kernel with.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import torch

from aipath.llm import int8_kernel


@lru_cache(maxsize=1)
def load() -> ctypes.CDLL | None:
    """The compiled kernel, or None (with a warning saying why) where it cannot run here."""
    lib = int8_kernel.load_kernel()
    if lib is not None:
        c_long, ptr = ctypes.c_long, ctypes.c_void_p
        lib.paged_decode_attention.argtypes = [ptr, ptr, ptr, ptr, c_long, ptr, c_long, c_long, c_long, c_long, c_long, ctypes.c_float, ptr, ctypes.c_int]
        lib.paged_decode_attention.restype = None
    return lib


def usable(dtype: torch.dtype, device: torch.device, head_dim: int) -> bool:
    """Whether the kernel can serve a pool of this dtype, device and head size (compiling it if so)."""
    return dtype == torch.float32 and device.type == "cpu" and head_dim % 8 == 0 and load() is not None


def decode_attention(q: torch.Tensor, k_pool: torch.Tensor, v_pool: torch.Tensor, tables: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """One query per sequence: ``q`` (B, H, D) over one layer's pools (blocks, H_kv, block_size, D),
    ``tables`` (B, n) block ids and ``lens`` (B,) keys per sequence (int64); returns (B, H, D)."""
    lib = load()
    assert lib is not None and q.dtype == k_pool.dtype == torch.float32 and k_pool.is_contiguous() and v_pool.is_contiguous()
    assert tables.dtype == lens.dtype == torch.int64 and tables.is_contiguous() and lens.is_contiguous()
    q = q.contiguous()
    b, h, d = q.shape
    out = torch.empty_like(q)
    _, h_kv, size, _ = k_pool.shape
    lib.paged_decode_attention(q.data_ptr(), k_pool.data_ptr(), v_pool.data_ptr(), tables.data_ptr(), tables.shape[1], lens.data_ptr(),
                               b, h, h_kv, size, d, d**-0.5, out.data_ptr(), torch.get_num_threads())
    return out
